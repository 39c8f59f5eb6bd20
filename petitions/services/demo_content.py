"""Demo content for the "petitions" service.

DEMO ONLY. The two open letters below were written for this project as
sample data for development, screenshots and first-run seeding. They are
original text, not copied from any published letter or press release, and
they do not represent a real campaign or a real list of signatories.
Addressees are offices, not named persons.

Each entry in ``DEMO_LETTERS`` is pure data with exactly these keys:
``slug``, ``main_language``, ``goal``, ``closes_in_days``, ``addressees``
and ``texts`` (with ``en`` and ``sq`` versions of ``title``, ``summary``,
``publisher`` and a Markdown ``body``; the G20 letter also has ``fr`` and ``ar``
versions, unofficial translations marked as such in their text, to show letters
in languages the interface does not speak, one of them right to left). ``closes_in_days`` is relative to
the moment the demo data is loaded.
"""

from __future__ import annotations

from typing import Any

DEMO_LETTERS: list[dict[str, Any]] = [
    {
        "slug": "g20-protect-education",
        "main_language": "en",
        "goal": 1000,
        "closes_in_days": 90,
        "addressees": [
            {
                "name": "Finance Ministers of the G20",
                "title": "Finance Ministers' Meeting, G20",
                "translations": {
                    "sq": {
                        "name": "Ministrat e Financave të G20",
                        "title": "Takimi i Ministrave të Financave, G20",
                    },
                    "fr": {
                        "name": "Ministres des Finances du G20",
                        "title": "Réunion des ministres des Finances, G20",
                    },
                    "ar": {
                        "name": "وزراء مالية مجموعة العشرين",
                        "title": "اجتماع وزراء المالية، مجموعة العشرين",
                    },
                },
            },
            {
                "name": "The G20 Presidency",
                "title": "Government holding the G20 Presidency",
                "translations": {
                    "sq": {
                        "name": "Presidenca e G20",
                        "title": "Qeveria që mban Presidencën e G20",
                    },
                    "fr": {
                        "name": "La présidence du G20",
                        "title": "Gouvernement assurant la présidence du G20",
                    },
                    "ar": {
                        "name": "رئاسة مجموعة العشرين",
                        "title": "الحكومة التي تتولى رئاسة مجموعة العشرين",
                    },
                },
            },
        ],
        "texts": {
            "en": {
                "title": (
                    "Open letter to the G20 finance ministers: "
                    "protect the priority of global education"
                ),
                "summary": (
                    "Civil-society organisations for education call on the "
                    "G20 finance ministers to protect education budgets, link "
                    "debt relief to schools, invest in teachers and bring "
                    "every child back to the classroom after the pandemic."
                ),
                "publisher": "Civil-Society Coalition for Education",
                "body": """\
Dear Ministers,

**Re: Protecting the priority of education in the G20 financing agenda**

We are writing to you as national education coalitions, teachers' unions and civil-society organisations, many of us members of the Global Campaign for Education, including the Albanian Coalition for Children's Education (ACCE). Ahead of your next meeting, we ask you to keep education at the centre of the G20's work on recovery, debt and sustainable finance.

The pandemic closed classrooms for hundreds of millions of learners. Many children, above all girls, children with disabilities and those from the poorest families, never returned. Lost learning has not been recovered, and around a quarter of a billion children and young people are still out of school. At the same time, higher interest rates and growing debt repayments are squeezing the budgets that pay for teachers, textbooks and school meals. In too many countries, governments now spend more on servicing debt than on educating their children.

Education is not a cost to be cut when times are hard. It is the investment that makes every other goal possible: health, decent work, gender equality and resilience to climate change. We therefore call on the G20 finance ministers to:

- **Protect education budgets** in every recovery and fiscal consolidation programme, in line with the international benchmarks of 4–6% of GDP and 15–20% of public expenditure.
- **Expand debt relief and debt-for-education swaps**, so that money freed from repayments goes directly into public schools, with transparent tracking and the participation of civil society.
- **Strengthen domestic resources** through fair and progressive taxation, and through international cooperation against tax avoidance and illicit financial flows.
- **Invest in teachers**, the most important factor in children's learning, by funding recruitment, fair pay and training to close the global shortfall of 44 million teachers by 2030.
- **Bring every child back to school**, with targeted funding for catch-up and remedial programmes and for the children most at risk of dropping out.

We also urge you to make sure that international financial institutions, in their policy advice and lending conditions, do not push countries towards cuts or wage-bill ceilings that fall on teachers and classrooms.

The G20 represents most of the world's economy. Its decisions on finance shape whether a child in a village school has a trained teacher, a safe building and a book to read. We ask you to make the choices that keep that promise alive, and we stand ready to work with you and with national governments to carry them through.

Respectfully,

*Signed by the undersigned organisations and individuals*
""",
            },
            "sq": {
                "title": (
                    "Letër e hapur drejtuar ministrave të financave të G20: "
                    "mbroni përparësinë e arsimit global"
                ),
                "summary": (
                    "Organizatat e shoqërisë civile për arsimin u bëjnë "
                    "thirrje ministrave të financave të G20 të mbrojnë "
                    "buxhetet e arsimit, ta lidhin lehtësimin e borxhit me "
                    "shkollat, të investojnë te mësuesit dhe ta kthejnë çdo "
                    "fëmijë në klasë pas pandemisë."
                ),
                "publisher": "Koalicioni i Shoqërisë Civile për Arsimin",
                "body": """\
Të nderuar Ministra,

**Lënda: Mbrojtja e përparësisë së arsimit në axhendën financiare të G20**

Ju shkruajmë si koalicione kombëtare për arsimin, sindikata të mësuesve dhe organizata të shoqërisë civile, shumë prej nesh anëtare të Fushatës Botërore për Arsimin, përfshirë Koalicionin për Arsimin e Fëmijëve në Shqipëri (ACCE). Ju kërkojmë ta mbani arsimin në qendër të punës së G20 për rimëkëmbjen, borxhin dhe financimin e qëndrueshëm.

Pandemia mbylli klasat për qindra milionë nxënës. Shumë fëmijë, sidomos vajzat, fëmijët me aftësi të kufizuara dhe ata nga familjet më të varfra, nuk u kthyen më në shkollë. Humbjet në të nxënë nuk janë rikuperuar dhe rreth një çerek miliardi fëmijë e të rinj mbeten jashtë shkollës. Ndërkohë, rritja e normave të interesit dhe e pagesave të borxhit po ngushton buxhetet me të cilat paguhen mësuesit, tekstet shkollore dhe ushqimi në shkolla. Në shumë vende, qeveritë sot shpenzojnë më shumë për shlyerjen e borxhit sesa për arsimimin e fëmijëve të tyre.

Arsimi nuk është një kosto që shkurtohet në kohë të vështira. Ai është investimi që bën të mundur çdo qëllim tjetër: shëndetin, punën e denjë, barazinë gjinore dhe përballimin e ndryshimeve klimatike. Prandaj u bëjmë thirrje ministrave të financave të G20 që:

- **Të mbrojnë buxhetet e arsimit** në çdo program rimëkëmbjeje dhe konsolidimi fiskal, në përputhje me standardet ndërkombëtare prej 4–6% të PBB-së dhe 15–20% të shpenzimeve publike.
- **Të zgjerojnë lehtësimin e borxhit dhe shkëmbimet e borxhit për arsim**, që fondet e çliruara nga shlyerjet të shkojnë drejtpërdrejt në shkollat publike, me ndjekje transparente dhe pjesëmarrje të shoqërisë civile.
- **Të forcojnë burimet e brendshme** përmes një sistemi tatimor të drejtë dhe progresiv, dhe bashkëpunimit ndërkombëtar kundër shmangies së taksave dhe flukseve financiare të paligjshme.
- **Të investojnë te mësuesit**, faktori kryesor i të nxënit, duke financuar rekrutimin, pagat e drejta dhe trajnimin, që deri në vitin 2030 të mbyllet mungesa globale prej 44 milionë mësuesish.
- **Ta kthejnë çdo fëmijë në shkollë**, me financim të synuar për programe rikuperimi dhe mësimi plotësues, si dhe për fëmijët në rrezik braktisjeje.

Ju kërkojmë gjithashtu të siguroni që institucionet financiare ndërkombëtare, përmes këshillave dhe kushteve të kreditimit, të mos i shtyjnë vendet drejt shkurtimeve apo kufizimeve të fondit të pagave që godasin mësuesit dhe klasat.

G20 përfaqëson pjesën më të madhe të ekonomisë botërore. Vendimet e tij financiare përcaktojnë nëse një fëmijë në një shkollë fshati ka një mësues të kualifikuar, një ndërtesë të sigurt dhe një libër për të lexuar. Ju kërkojmë të bëni zgjedhjet që e mbajnë gjallë këtë premtim dhe jemi të gatshëm të bashkëpunojmë me ju dhe me qeveritë kombëtare për zbatimin e tyre.

Me respekt,

*Nënshkruar nga organizatat dhe individët e mëposhtëm*
""",
            },
            "fr": {
                "title": (
                    "Lettre ouverte aux ministres des Finances du G20 : "
                    "protégez la priorité donnée à l'éducation dans le monde"
                ),
                "summary": (
                    "Des organisations de la société civile pour l'éducation "
                    "appellent les ministres des Finances du G20 à protéger les "
                    "budgets de l'éducation, à lier l'allègement de la dette aux "
                    "écoles, à investir dans les enseignants et à ramener chaque "
                    "enfant en classe après la pandémie."
                ),
                "publisher": "Coalition de la société civile pour l'éducation",
                "body": """\
*Traduction non officielle du texte anglais, faite pour la démonstration de ce service. Seul le texte anglais fait foi.*

Mesdames et Messieurs les Ministres,

**Objet : Protéger la priorité de l'éducation dans l'agenda financier du G20**

Nous vous écrivons en tant que coalitions nationales pour l'éducation, syndicats d'enseignants et organisations de la société civile, dont beaucoup sont membres de la Campagne mondiale pour l'éducation, parmi lesquelles la Coalition albanaise pour l'éducation des enfants (ACCE). À l'approche de votre prochaine réunion, nous vous demandons de maintenir l'éducation au cœur des travaux du G20 sur la relance, la dette et la finance durable.

La pandémie a fermé les salles de classe de centaines de millions d'élèves. Beaucoup d'enfants, surtout les filles, les enfants en situation de handicap et ceux des familles les plus pauvres, n'y sont jamais retournés. Les apprentissages perdus n'ont pas été rattrapés, et environ un quart de milliard d'enfants et de jeunes ne sont toujours pas scolarisés. Dans le même temps, la hausse des taux d'intérêt et le poids croissant du service de la dette réduisent les budgets qui paient les enseignants, les manuels et les repas scolaires. Dans trop de pays, les gouvernements dépensent désormais davantage pour le service de la dette que pour l'éducation de leurs enfants.

L'éducation n'est pas une dépense à réduire quand les temps sont durs. C'est l'investissement qui rend possibles tous les autres objectifs : la santé, le travail décent, l'égalité entre les femmes et les hommes et la résilience face au changement climatique. Nous appelons donc les ministres des Finances du G20 à :

- **Protéger les budgets de l'éducation** dans tout programme de relance et d'assainissement budgétaire, conformément aux repères internationaux de 4 à 6 % du PIB et de 15 à 20 % des dépenses publiques.
- **Étendre l'allègement de la dette et les conversions de dette en investissements éducatifs**, afin que l'argent libéré des remboursements aille directement aux écoles publiques, avec un suivi transparent et la participation de la société civile.
- **Renforcer les ressources nationales** par une fiscalité juste et progressive, et par la coopération internationale contre l'évasion fiscale et les flux financiers illicites.
- **Investir dans les enseignants**, le facteur le plus important de l'apprentissage des enfants, en finançant le recrutement, une rémunération équitable et la formation, afin de combler d'ici 2030 le déficit mondial de 44 millions d'enseignants.
- **Ramener chaque enfant à l'école**, avec des financements ciblés pour les programmes de rattrapage et de remédiation, et pour les enfants les plus exposés au décrochage.

Nous vous demandons également de veiller à ce que les institutions financières internationales, dans leurs conseils et leurs conditions de prêt, ne poussent pas les pays vers des coupes ou des plafonds de masse salariale qui frappent les enseignants et les salles de classe.

Le G20 représente l'essentiel de l'économie mondiale. Ses décisions financières déterminent si un enfant dans une école de village a un enseignant formé, un bâtiment sûr et un livre à lire. Nous vous demandons de faire les choix qui maintiennent cette promesse en vie, et nous sommes prêts à travailler avec vous et avec les gouvernements nationaux pour les mettre en œuvre.

Veuillez agréer, Mesdames et Messieurs les Ministres, l'expression de notre haute considération.

*Signé par les organisations et les personnes soussignées*
""",
            },
            "ar": {
                "title": (
                    "رسالة مفتوحة إلى وزراء مالية مجموعة العشرين: احموا أولوية التعليم في العالم"
                ),
                "summary": (
                    "تدعو منظمات المجتمع المدني العاملة في مجال التعليم وزراء "
                    "مالية مجموعة العشرين إلى حماية ميزانيات التعليم، وربط "
                    "تخفيف الديون بالمدارس، والاستثمار في المعلمين، وإعادة كل "
                    "طفل إلى الفصل الدراسي بعد الجائحة."
                ),
                "publisher": "ائتلاف المجتمع المدني من أجل التعليم",
                "body": """\
*ترجمة غير رسمية للنص الإنجليزي، أُعدّت لعرض هذه الخدمة. النص الإنجليزي وحده هو المعتمد.*

أصحاب المعالي الوزراء،

**الموضوع: حماية أولوية التعليم في جدول أعمال مجموعة العشرين المالي**

نكتب إليكم بصفتنا ائتلافات وطنية للتعليم ونقابات للمعلمين ومنظمات للمجتمع المدني، كثير منا أعضاء في الحملة العالمية للتعليم، ومنها الائتلاف الألباني لتعليم الأطفال (ACCE). وقبيل اجتماعكم المقبل، نطلب إليكم أن تُبقوا التعليم في صميم عمل مجموعة العشرين بشأن التعافي والديون والتمويل المستدام.

أغلقت الجائحة الفصول الدراسية أمام مئات الملايين من المتعلمين. ولم يعد كثير من الأطفال إليها قط، ولا سيما الفتيات والأطفال ذوو الإعاقة وأطفال الأسر الأشد فقرًا. ولم يُعوَّض ما فات من تعلّم، ولا يزال نحو ربع مليار طفل وشاب خارج المدرسة. وفي الوقت نفسه، تضغط أسعار الفائدة المرتفعة وتزايد أقساط الديون على الميزانيات التي تُدفع منها رواتب المعلمين وثمن الكتب المدرسية والوجبات المدرسية. وفي بلدان كثيرة جدًا، باتت الحكومات تنفق على خدمة الديون أكثر مما تنفق على تعليم أطفالها.

ليس التعليم كلفة تُقتطع حين تشتد الأوقات. إنه الاستثمار الذي يجعل كل هدف آخر ممكنًا: الصحة والعمل اللائق والمساواة بين الجنسين والقدرة على مواجهة تغيّر المناخ. ولذلك ندعو وزراء مالية مجموعة العشرين إلى:

- **حماية ميزانيات التعليم** في كل برنامج للتعافي أو الضبط المالي، وفقًا للمعايير الدولية البالغة 4–6% من الناتج المحلي الإجمالي و15–20% من الإنفاق العام.
- **توسيع تخفيف الديون ومبادلات الديون بالتعليم**، كي تذهب الأموال المتحررة من السداد مباشرة إلى المدارس العامة، مع تتبّع شفاف ومشاركة المجتمع المدني.
- **تعزيز الموارد المحلية** من خلال ضرائب عادلة وتصاعدية، ومن خلال التعاون الدولي لمكافحة التهرب الضريبي والتدفقات المالية غير المشروعة.
- **الاستثمار في المعلمين**، وهم العامل الأهم في تعلّم الأطفال، بتمويل التوظيف والأجور العادلة والتدريب، لسدّ النقص العالمي البالغ 44 مليون معلم بحلول عام 2030.
- **إعادة كل طفل إلى المدرسة**، بتمويل موجَّه لبرامج استدراك التعلّم والتعليم العلاجي، وللأطفال الأكثر عرضة للتسرب.

ونحثّكم كذلك على ضمان ألا تدفع المؤسسات المالية الدولية، في مشورتها السياساتية وشروط إقراضها، البلدانَ نحو تخفيضات أو سقوف لفاتورة الأجور تقع على المعلمين والفصول الدراسية.

تمثّل مجموعة العشرين معظم الاقتصاد العالمي. وقراراتها المالية تحدّد ما إذا كان لطفل في مدرسة قروية معلم مدرَّب ومبنى آمن وكتاب يقرؤه. نطلب إليكم أن تتخذوا الخيارات التي تُبقي هذا الوعد حيًّا، ونحن مستعدون للعمل معكم ومع الحكومات الوطنية لتنفيذها.

وتفضلوا بقبول فائق الاحترام،

*وقّعت عليها المنظمات والأفراد المذكورون أدناه*
""",
            },
        },
    },
    {
        "slug": "inclusive-education-albania",
        "main_language": "sq",
        "goal": 500,
        "closes_in_days": 60,
        "addressees": [
            {
                "name": "Ministri i Arsimit dhe Sportit",
                "title": "Ministria e Arsimit dhe Sportit, Republika e Shqipërisë",
                "translations": {
                    "en": {
                        "name": "Minister of Education and Sport",
                        "title": "Ministry of Education and Sport, Republic of Albania",
                    },
                },
            },
        ],
        "texts": {
            "sq": {
                "title": (
                    "Letër e hapur: arsim gjithëpërfshirës për çdo fëmijë "
                    "me aftësi të kufizuara në Shqipëri"
                ),
                "summary": (
                    "Koalicioni për Arsimin e Fëmijëve në Shqipëri i kërkon "
                    "Ministrisë së Arsimit dhe Sportit masa konkrete, me "
                    "afate dhe buxhet, që asnjë fëmijë me aftësi të kufizuara "
                    "të mos mbetet jashtë shkollës apo pa mbështetjen që i "
                    "takon."
                ),
                "publisher": "Koalicioni për Arsimin e Fëmijëve në Shqipëri (ACCE)",
                "body": """\
I/E nderuar Ministër,

Koalicioni për Arsimin e Fëmijëve në Shqipëri (ACCE), së bashku me organizatat dhe individët që e nënshkruajnë këtë letër, ju drejtohet për një çështje që prek drejtpërdrejt mijëra familje në të gjithë vendin: të drejtën e fëmijëve me aftësi të kufizuara për një arsim cilësor, gjithëpërfshirës dhe pa pagesë.

Legjislacioni shqiptar dhe Konventa e OKB-së për të Drejtat e Personave me Aftësi të Kufizuara, të cilën Shqipëria e ka ratifikuar, e garantojnë këtë të drejtë. Megjithatë, përvoja e përditshme e prindërve, e mësuesve dhe e organizatave tona tregon se premtimet në letër ende nuk janë bërë realitet në klasë. Ka ende shkolla që refuzojnë regjistrimin e një fëmije me aftësi të kufizuara ose u kërkojnë prindërve ta shoqërojnë fëmijën gjatë gjithë ditës së mësimit. Numri i mësuesve ndihmës është i pamjaftueshëm dhe ata shpesh caktohen me vonesë, kur viti shkollor ka nisur prej kohësh. Shumë ndërtesa shkollore nuk kanë rampa, tualete të përshtatura apo materiale mësimore të aksesueshme, ndërsa në zonat rurale mungon transporti i përshtatur. Planet edukative individuale hartohen shpesh si formalitet, pa pjesëmarrjen e prindërve dhe pa u ndjekur rregullisht.

Prandaj ju kërkojmë:

- **T'i jepet fund çdo refuzimi të regjistrimit** të fëmijëve me aftësi të kufizuara, me udhëzime të qarta për drejtuesit e shkollave dhe me masa ndaj kujtdo që e shkel këtë të drejtë.
- **Të sigurohen mësues ndihmës** në numër të mjaftueshëm, të caktuar që në ditën e parë të vitit shkollor dhe me kushte pune të qëndrueshme.
- **Të bëhen të aksesueshme shkollat dhe transporti shkollor**, përmes një plani kombëtar me afate të qarta.
- **Të hartohen dhe të zbatohen plane edukative individuale** për çdo fëmijë që ka nevojë, me përfshirjen e prindërve dhe me rishikim të rregullt.
- **Të trajnohen të gjithë mësuesit** për mësimdhënie gjithëpërfshirëse, si pjesë e formimit fillestar dhe e zhvillimit profesional të vazhdueshëm.
- **Të krijohen zëra buxhetorë të veçantë** për arsimin gjithëpërfshirës, në nivel qendror dhe vendor.
- **Të mblidhen dhe të publikohen çdo vit të dhëna** të ndara sipas llojit të aftësisë së kufizuar, gjinisë dhe vendbanimit, për fëmijët brenda dhe jashtë shkollës.

Arsimi gjithëpërfshirës nuk është një favor që u bëhet disa fëmijëve; është detyrim i shtetit ndaj secilit prej tyre dhe një përfitim për të gjithë klasën. Jemi të gatshëm të bashkëpunojmë me Ministrinë dhe ju kërkojmë një takim për të diskutuar një plan veprimi me afate dhe tregues të matshëm.

Me respekt,

*Nënshkruar nga organizatat dhe individët e mëposhtëm*
""",
            },
            "en": {
                "title": (
                    "Open letter: inclusive education for every child with disabilities in Albania"
                ),
                "summary": (
                    "The Albanian Coalition for Children's Education asks the "
                    "Ministry of Education and Sport for concrete, funded and "
                    "time-bound measures so that no child with disabilities "
                    "is left out of school or without the support they are "
                    "entitled to."
                ),
                "publisher": "Albanian Coalition for Children's Education (ACCE)",
                "body": """\
Dear Minister,

The Albanian Coalition for Children's Education (ACCE), together with the organisations and individuals who sign this letter, is writing to you about an issue that directly affects thousands of families across the country: the right of children with disabilities to a quality, inclusive and free education.

Albanian law and the UN Convention on the Rights of Persons with Disabilities, which Albania has ratified, guarantee this right. Yet the everyday experience of parents, teachers and our member organisations shows that the promises made on paper have not yet become reality in the classroom. Some schools still refuse to enrol a child with disabilities, or ask parents to stay with their child for the whole school day. There are too few assistant teachers, and they are often appointed late, well after the school year has begun. Many school buildings lack ramps, adapted toilets and accessible learning materials, while in rural areas adapted transport is simply not available. Individual education plans are too often drawn up as a formality, without the involvement of parents and without regular follow-up.

We therefore ask you to:

- **End every refusal of enrolment** of children with disabilities, with clear instructions to school principals and consequences for anyone who violates this right.
- **Provide enough assistant teachers**, appointed from the first day of the school year and employed under stable working conditions.
- **Make schools and school transport accessible**, through a national plan with clear deadlines.
- **Draw up and implement individual education plans** for every child who needs one, with parents involved and regular reviews.
- **Train all teachers in inclusive teaching**, as part of both initial teacher education and continuous professional development.
- **Create dedicated budget lines** for inclusive education at central and local level.
- **Collect and publish data every year**, disaggregated by type of disability, gender and place of residence, on children both in and out of school.

Inclusive education is not a favour granted to some children; it is the state's duty towards each of them and a benefit for the whole class. We are ready to work with the Ministry and ask for a meeting to discuss an action plan with deadlines and measurable indicators.

Respectfully,

*Signed by the undersigned organisations and individuals*
""",
            },
        },
    },
]

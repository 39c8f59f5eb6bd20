"""Generated letters full of realistic signatures, for development, screenshots and benchmarks.

``flask generate --signatures N`` makes one published letter hold exactly N generated signatures:
organisations (some verified) and individuals, names in Latin script with diacritics, Cyrillic,
Greek, Arabic (mixed with Latin words too), Chinese and Devanagari, every status, some hidden and
some not public. Running it again with the same slug *replaces* the letter's signatures (same
seed, same people), so it is idempotent and resizes a letter either way.

Safety: a letter is only ever refilled when it is demo content (``is_demo``) and every signature
on it was made here (every generated address is at a reserved test domain: ``*.example`` or an
IDN test TLD). A real letter, or a demo letter someone signed for real, is refused untouched.

Speed: rows are made in Python and written with one Core ``executemany`` per batch, each batch
its own transaction; nothing is loaded as ORM objects. A million rows take well under two minutes
on SQLite. Like a CLI command, this owns its transactions and commits them.
"""

# Names in other scripts hold letters that look like Latin ones (Greek eta, dotless i): on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import functools
import random
import secrets
import time
import unicodedata
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate

from sqlalchemy import ColumnElement, delete, func, or_, select, update

from petitions.extensions import db
from petitions.models.columns import utcnow
from petitions.models.database import rowcount, write_intent
from petitions.models.letters import Addressee, Letter, LetterStatus
from petitions.models.signatures import Signature, SignatureKind, SignatureStatus
from petitions.services.errors import DomainError
from petitions.services.letter_editing import TextInput, new_text
from petitions.services.signing import consent_hash

DEFAULT_SLUG = "generated-letter"
TEST_TLD = "example"  # RFC 2606: never a real address
# RFC 2606's IDN test TLDs: addresses in other scripts that can never be real either.
IDN_DOMAINS = ("пример.испытание", "παράδειγμα.δοκιμή", "例子.测试", "उदाहरण.परीक्षा", "مثال.إختبار")

STATUS_WEIGHTS = (
    (SignatureStatus.CONFIRMED, 900),
    (SignatureStatus.PENDING, 40),
    (SignatureStatus.AWAITING_APPROVAL, 20),
    (SignatureStatus.WITHDRAWN, 20),
    (SignatureStatus.REJECTED, 10),
    (SignatureStatus.SPAM, 10),
)
ORGANISATION_SHARE = 0.10
VERIFIED_SHARE = 0.4  # of confirmed organisations
NON_PUBLIC_SHARE = 0.12
HIDDEN_SHARE = 0.005  # of confirmed signatures
COMMENT_SHARE = 0.15


@dataclass(frozen=True)
class Region:
    """Names, places and words of one script (and the letter language its signers read)."""

    weight: int
    language: str  # "en" or "sq": the letter's two languages
    places: dict[str, tuple[str, ...]]  # ISO alpha-2 -> cities
    given: tuple[str, ...]
    family: tuple[str, ...]
    organisations: tuple[str, ...]
    titles: tuple[str, ...]
    comments: tuple[str, ...]
    idn_domain: str = ""  # a share of this script's signers have an address in it
    family_first: bool = False  # Chinese: family name first, no space


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


REGIONS = (
    Region(
        30, "sq",
        {"AL": _words("Tiranë|Durrës|Shkodër|Korçë|Vlorë|Elbasan|Gjirokastër"),
         "XK": _words("Prishtinë|Prizren|Pejë|Gjakovë|Ferizaj"),
         "MK": _words("Tetovë|Shkup|Strugë")},
        _words("Arbër|Blerta|Dritan|Ëngjëll|Gëzim|Fjolla|Mimoza|Çlirim|Valbona|Ilir|Erëza|Liridon|"
               "Shpëtim|Jonida|Ardit|Rozafa|Besnik|Lumturi"),
        _words("Hoxha|Çela|Krasniqi|Gashi|Berisha|Shehu|Dervishi|Kola|Marku|Lleshi|Përmeti|Çuni|"
               "Zeqiri|Bajrami|Dëshira"),
        _words("Shoqata e Mësuesve të Shqipërisë|Qendra për Arsim Gjithëpërfshirës|"
               "Fondacioni Çelësi i Dijes|Rrjeti i Prindërve të Korçës|Lidhja e Studentëve|"
               "Sindikata e Pavarur e Arsimit"),
        _words("Mësuese|Drejtor shkolle|Studente|Prind|Profesor|Edukatore"),
        _words("Arsimi është e drejtë e çdo fëmije.|Mbështes plotësisht këtë letër.|"
               "- Për një shkollë më të mirë!|Çdo fëmijë meriton një mësues."),
    ),
    Region(
        28, "en",
        {"DE": _words("Berlin|München|Köln"), "FR": _words("Paris|Besançon|Orléans"),
         "PL": _words("Kraków|Łódź|Gdańsk"), "TR": _words("İstanbul|İzmir|Ankara"),
         "ES": _words("Sevilla|A Coruña|Málaga"), "SE": _words("Göteborg|Malmö|Umeå"),
         "VN": _words("Hà Nội|Đà Nẵng"), "BR": _words("São Paulo|Belém"),
         "GB": _words("London|Cardiff"), "US": _words("New York|Chicago"), "KE": _words("Nairobi")},
        _words("Jürgen|Zoë|Łukasz|Çağla|José|Ingrid|Hương|João|Chloé|Ahmet|Agnieszka|Siobhán|"
               "Bjørn|Amélie|Wanjiru|Ruth"),
        _words("Müller|Lefèvre|Wiśniewski|Yılmaz|Peña|Ångström|Nguyễn|Gonçalves|O'Brien|Dubois|"
               "Kowalczyk|Njoroge|Smith|Şahin"),
        _words("Education International|Save the Children Deutschland|Fundación Educación Común|"
               "Związek Nauczycielstwa Polskiego|Lärarförbundet Göteborg|Teachers for Tomorrow|"
               "@SchoolsForAll collective|Amis de l'École Publique"),
        _words("Teacher|Lehrerin|Directrice d'école|Nauczycielka|Researcher|Parent|Student"),
        _words("Education cannot wait.|+1 from our whole school|"
               "Bildung ist ein Menschenrecht.|=) Good luck with the delivery|"
               'We support the "education first" budget line.|L\'éducation avant tout.'),
    ),
    Region(
        10, "en",
        {"RS": _words("Београд|Нови Сад|Ниш"), "MK": _words("Скопје|Битола"),
         "BG": _words("София|Пловдив"), "UA": _words("Київ|Львів|Харків")},
        _words("Марија|Александар|Јелена|Иван|Олена|Дмитро|Невена|Стефан|Ѓорѓи|Ірина"),
        _words("Петровић|Јовановска|Иванов|Шевченко|Коваленко|Николић|Георгиева"),
        _words("Синдикат образовања Србије|Асоціація вчителів України|Фондация „Деца на фокус“"),
        _words("Наставник|Директор|Учителька|Студент"),
        _words("Образование для всех!|Подржавам ово писмо."),
        idn_domain=IDN_DOMAINS[0],
    ),
    Region(
        5, "en",
        {"GR": _words("Αθήνα|Θεσσαλονίκη|Πάτρα"), "CY": _words("Λευκωσία|Λεμεσός")},
        _words("Γιώργος|Μαρία|Ελένη|Δημήτρης|Κατερίνα|Νίκος"),
        _words("Παπαδόπουλος|Οικονόμου|Γεωργίου|Καραγιάννη|Βασιλείου"),
        _words("Ομοσπονδία Εκπαιδευτικών Ελλάδας|Ένωση Γονέων Λευκωσίας"),
        _words("Εκπαιδευτικός|Διευθύντρια|Φοιτητής"),
        _words("Η παιδεία είναι δικαίωμα.",),
        idn_domain=IDN_DOMAINS[1],
    ),
    Region(
        9, "en",
        {"SA": _words("الرياض|جدة"), "EG": _words("القاهرة|الإسكندرية"), "JO": _words("عمّان"),
         "MA": _words("الدار البيضاء|الرباط"), "LB": _words("بيروت")},
        _words("محمد|فاطمة|أحمد|ليلى|يوسف|مريم|عمر|نور"),
        _words("العلي|حداد|الخطيب|منصور|بن علي|الزهراني"),
        _words("منظمة UNICEF في الرياض|جمعية المعلمين العرب|مؤسسة التعليم للجميع|"
               "شبكة Save the Children في عمّان"),
        _words("معلمة|مدير مدرسة|طالب|Professor at جامعة القاهرة"),
        _words("التعليم حق لكل طفل.|نحن ندعم هذه الرسالة - Education First!"),
        idn_domain=IDN_DOMAINS[4],
    ),
    Region(
        9, "en",
        {"CN": _words("北京|上海|广州|成都"), "TW": _words("台北|高雄")},
        _words("秀英|伟|芳|娜|敏|静|强|磊|晓明"),
        _words("王|李|张|刘|陈|杨|黄|周|欧阳"),
        _words("北京教育基金会|上海青年志愿者协会|中国儿童发展中心"),
        _words("教师|校长|学生"),
        _words("教育是每个孩子的权利。",),
        idn_domain=IDN_DOMAINS[2],
        family_first=True,
    ),
    Region(
        9, "en",
        {"IN": _words("नई दिल्ली|मुंबई|पुणे|वाराणसी"), "NP": _words("काठमाडौं|पोखरा")},
        _words("अनीता|राहुल|प्रिया|अमित|सुनीता|विकास|दीपक|पूजा"),
        _words("शर्मा|वर्मा|गुप्ता|श्रेष्ठ|पटेल|यादव"),
        _words("शिक्षा के लिए अभियान|बाल अधिकार मंच|नेपाल शिक्षक संघ"),
        _words("शिक्षिका|प्रधानाचार्य|छात्र"),
        _words("हर बच्चे को शिक्षा का अधिकार है।",),
        idn_domain=IDN_DOMAINS[3],
    ),
)  # fmt: skip

TEXTS = {
    "en": {
        "title": "Generated letter: fund every classroom",
        "summary": "Sample data made by `flask generate`; not a real campaign.",
        "publisher": "Generated sample data",
        "body": "To the Ministry,\n\nThis letter and its signatories were **generated** for "
        "development and benchmarks. They are not real people.\n\n- Fund every classroom.\n"
        "- Pay teachers on time.\n\nRespectfully, the signatories.",
    },
    "sq": {
        "title": "Letër e gjeneruar: financoni çdo klasë",
        "summary": "Të dhëna shembull nga `flask generate`; jo një fushatë e vërtetë.",
        "publisher": "Të dhëna shembull të gjeneruara",
        "body": "Për Ministrinë,\n\nKjo letër dhe nënshkruesit e saj u **gjeneruan** për "
        "zhvillim dhe matje. Nuk janë njerëz të vërtetë.\n\n- Financoni çdo klasë.\n"
        "- Paguani mësuesit në kohë.\n\nMe respekt, nënshkruesit.",
    },
}
ADDRESSEE = {
    "name": "Ministry of Education and Sport",
    "title": "Minister's office",
    "translations": {
        "sq": {"name": "Ministria e Arsimit dhe Sportit", "title": "Zyra e Ministrit"}
    },
}


class GenerationRefused(DomainError):
    """The letter exists and holds (or may hold) real signatures: it is left alone."""


@dataclass(frozen=True)
class Generated:
    slug: str
    created_letter: bool
    removed: int  # signatures replaced on a refill
    signatures: int
    organisations: int  # counted (confirmed) ones, as now stored on the letter
    individuals: int
    seconds: float


Progress = Callable[[int, int], None]


def generate(
    count: int,
    slug: str = DEFAULT_SLUG,
    seed: int = 1,
    *,
    batch: int = 10_000,
    span: timedelta = timedelta(days=30),
    progress: Progress | None = None,
) -> Generated:
    """Make the letter ``slug`` (created if missing) hold exactly ``count`` generated signatures.

    Signatures are spread evenly over the ``span`` before now, ids following time. Commits.
    """
    if count < 0:
        raise ValueError("count must be zero or more")
    started = time.perf_counter()
    with write_intent():
        letter, created = _letter(slug, span)
        removed = 0 if created else _remove_signatures(letter)
        texts = {t.language: (t.id, t.text_hash) for t in letter.texts if t.superseded_at is None}
        letter_id = letter.id
        db.session.commit()
    stamp = _stamp_for(db.session.get_bind().dialect.name)
    factory = _RowFactory(letter_id, texts, seed, count, span, stamp)
    for start in range(0, count, batch):
        rows = factory.rows(start, min(start + batch, count))
        with write_intent():
            _write(rows)
            db.session.commit()
        if progress is not None:
            progress(start + len(rows), count)
    with write_intent():
        organisations, individuals = _store_counts(letter_id)
        db.session.commit()
    seconds = time.perf_counter() - started
    return Generated(slug, created, removed, count, organisations, individuals, seconds)


def _letter(slug: str, span: timedelta) -> tuple[Letter, bool]:
    """The letter to fill: the existing one if it may be refilled, else a new published one."""
    letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
    if letter is not None:
        _check_refillable(letter)
        return letter, False
    now = utcnow()
    letter = Letter(
        slug=slug,
        main_language="en",
        status=LetterStatus.OPEN,
        goal=1000,
        opens_at=now - span - timedelta(days=1),
        closes_at=now + timedelta(days=60),
        is_demo=True,
    )
    for language, text in TEXTS.items():
        letter.texts.append(new_text(language, TextInput(**text)))
    letter.addressees.append(Addressee(position=0, **ADDRESSEE))
    db.session.add(letter)
    db.session.flush()
    return letter, True


def generated_address() -> ColumnElement[bool]:
    """The SQL condition "this signature's address is one the generator makes"."""
    return or_(
        Signature.email_domain == TEST_TLD,
        Signature.email_domain.endswith("." + TEST_TLD),
        Signature.email_domain.in_(IDN_DOMAINS),
    )


def _check_refillable(letter: Letter) -> None:
    if not letter.is_demo:
        raise GenerationRefused(f"{letter.slug} is not demo content; its signatures stay.")
    foreign = db.session.scalar(
        select(Signature.id).where(Signature.letter_id == letter.id, ~generated_address()).limit(1)
    )
    if foreign is not None:
        raise GenerationRefused(f"{letter.slug} holds signatures the generator did not make.")


def _remove_signatures(letter: Letter) -> int:
    """Delete the letter's signatures and zero its counters, in the caller's transaction.

    Each batch then commits on its own, so until the run ends the counters lag behind the rows
    (pages say fewer); an interrupted run leaves that state, and running it again repairs it.
    """
    result = db.session.execute(delete(Signature).where(Signature.letter_id == letter.id))
    letter.count_individuals = letter.count_organisations = 0
    letter.public_version += 1
    return rowcount(result)


def _store_counts(letter_id: int) -> tuple[int, int]:
    """Set the letter's counters from a real count of its counted signatures."""
    found = dict(
        db.session.execute(
            select(Signature.kind, func.count())
            .where(Signature.letter_id == letter_id, Signature.status == SignatureStatus.CONFIRMED)
            .group_by(Signature.kind)
        ).all()
    )
    organisations = int(found.get(SignatureKind.ORGANISATION, 0))
    individuals = int(found.get(SignatureKind.INDIVIDUAL, 0))
    db.session.execute(
        update(Letter)
        .where(Letter.id == letter_id)
        .values(
            count_organisations=organisations,
            count_individuals=individuals,
            public_version=Letter.public_version + 1,
        )
    )
    return organisations, individuals


@functools.cache  # a few hundred distinct names, a million calls
def _ascii(text: str) -> str:
    """A name as an address's local part: accents dropped, other scripts dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


# The columns the generator writes, in the order of its row tuples.
COLUMNS = (
    "letter_id", "kind", "status", "name", "email", "email_canonical", "email_domain",
    "organisation", "title", "country", "city", "website", "comment", "is_public", "is_hidden",
    "language", "text_id", "text_hash", "consent_text_hash", "consented_at", "ip_hash",
    "confirm_nonce", "withdraw_nonce", "confirm_emails_sent", "notices_sent", "created_at",
    "confirmed_at", "withdrawn_at", "updated_at", "moderated_at", "moderation_reason",
    "verified_at", "source",
)  # fmt: skip
Row = tuple[object, ...]
Stamp = Callable[[datetime], object]


def _sqlite_stamp(value: datetime) -> str:
    """A naive UTC datetime as SQLAlchemy stores it in SQLite (microseconds always written)."""
    return value.isoformat(" ", "microseconds")


def _aware_stamp(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def _write(rows: list[Row]) -> None:
    """One batch, in the caller's transaction, past SQLAlchemy's per-value type processing.

    PostgreSQL: ``COPY … FROM STDIN`` (psycopg adapts each value); a plain executemany there
    costs twice the time of all the rest. SQLite: one ``executemany`` of the table's INSERT, in
    the order of ``COLUMNS``. The values are already in each driver's own form
    (:func:`_stamp_for`).
    """
    connection = db.session.connection()
    names = ", ".join(COLUMNS)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY signatures ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    # Columns left out (later additions such as the updates choice) take their server defaults.
    marks = ", ".join("?" * len(COLUMNS))
    statement = f"INSERT INTO signatures ({names}) VALUES ({marks})"  # noqa: S608 (constant names)
    connection.exec_driver_sql(statement, rows)


def _stamp_for(dialect: str) -> Stamp:
    return _sqlite_stamp if dialect == "sqlite" else _aware_stamp


class _RowFactory:
    """Makes the rows of one generation, in order, from one random stream.

    The same seed and count make the same signatories (names, places, statuses, times relative
    to now), whatever the batch size; only the link nonces are fresh each time.
    """

    def __init__(
        self,
        letter_id: int,
        texts: dict[str, tuple[int, str]],
        seed: int,
        count: int,
        span: timedelta,
        stamp: Stamp,
    ) -> None:
        self.letter_id, self.texts, self.stamp = letter_id, texts, stamp
        self.consent = {language: consent_hash(language) for language in texts}
        # A letter without an Albanian text (a refilled demo letter, say): its main language.
        self.fallback = "en" if "en" in texts else next(iter(texts))
        self.countries = {id(r): list(r.places) for r in REGIONS}
        # Naive UTC inside (cheap arithmetic); ``stamp`` turns each into the driver's form.
        self.end = utcnow().replace(tzinfo=None) - timedelta(hours=2)  # confirmations are past
        self.start = self.end - span
        self.step = span / max(count, 1)
        self.rng = random.Random(seed)
        self.ip_hashes = [f"{self.rng.getrandbits(128):032x}" for _ in range(max(count // 20, 1))]
        self.region_weights = list(accumulate(r.weight for r in REGIONS))
        self.status_weights = list(accumulate(w for _, w in STATUS_WEIGHTS))
        self.statuses = [s.value for s, _ in STATUS_WEIGHTS]

    def rows(self, start: int, stop: int) -> list[Row]:
        """Rows ``start`` to ``stop - 1``; call with consecutive ranges."""
        nonces = secrets.token_hex(16 * (stop - start))
        return [
            self._row(n, nonces[32 * (n - start) : 32 * (n - start + 1)])
            for n in range(start, stop)
        ]

    def _row(self, n: int, nonces: str) -> Row:
        rng = self.rng
        region = REGIONS[bisect(self.region_weights, rng.random() * self.region_weights[-1])]
        status = self.statuses[bisect(self.status_weights, rng.random() * self.status_weights[-1])]
        given, family = rng.choice(region.given), rng.choice(region.family)
        name = f"{family}{given}" if region.family_first else f"{given} {family}"
        country = rng.choice(self.countries[id(region)])
        organisation = website = ""
        is_org = rng.random() < ORGANISATION_SHARE
        if is_org:
            organisation = rng.choice(region.organisations)
            host = _ascii(organisation)[:30] or f"org{region.organisations.index(organisation)}"
            email = f"info.{n}@{host}.{TEST_TLD}"
            website = f"https://www.{host}.{TEST_TLD}/" if rng.random() < 0.6 else ""
        elif region.idn_domain and rng.random() < 0.1:
            email = f"{given}{n}@{region.idn_domain}"
        else:
            email = f"{_ascii(given) or 'signer'}.{_ascii(family) or 'x'}.{n}@mail.{TEST_TLD}"
        created = self.start + self.step * n + timedelta(seconds=rng.random())
        confirmed = (
            None if status == "pending" else created + timedelta(seconds=rng.randint(30, 3600))
        )
        language = region.language if region.language in self.texts else self.fallback
        text_id, hashed = self.texts[language]
        last = confirmed or created
        withdrawn = last + timedelta(hours=rng.randint(1, 48)) if status == "withdrawn" else None
        moderated = last + timedelta(hours=1) if status in ("rejected", "spam") else None
        verified = None
        if is_org and status == "confirmed" and rng.random() < VERIFIED_SHARE:
            verified = last + timedelta(days=1)
        stamp = self.stamp
        return (
            self.letter_id,
            "organisation" if is_org else "individual",
            status,
            name,
            email,
            email.lower(),
            email.rpartition("@")[2].lower(),
            organisation,
            rng.choice(region.titles) if is_org or rng.random() < 0.5 else "",
            country,
            rng.choice(region.places[country]) if rng.random() < 0.9 else "",
            website,
            rng.choice(region.comments) if rng.random() < COMMENT_SHARE else "",
            rng.random() >= NON_PUBLIC_SHARE,
            status == "confirmed" and rng.random() < HIDDEN_SHARE,
            language,
            text_id,
            hashed,
            self.consent[language],
            stamp(created),
            rng.choice(self.ip_hashes),
            nonces[:16],
            nonces[16:],
            1,
            0,
            stamp(created),
            stamp(confirmed) if confirmed else None,
            stamp(withdrawn) if withdrawn else None,
            stamp(max(s for s in (created, confirmed, withdrawn, moderated, verified) if s)),
            stamp(moderated) if moderated else None,
            "Duplicate" if status == "rejected" else "",
            stamp(verified) if verified else None,
            "",  # no referral code
        )

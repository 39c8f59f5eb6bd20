// Runs axe-core (WCAG 2 A/AA and best practices) on the staff pages, signed in as an admin, on a
// laptop-sized viewport, in English and Albanian; prints the violations per page.
//   STAFF_EMAIL=… STAFF_PASSWORD=… BASE_URL=http://127.0.0.1:5000 node staff.js
const { chromium } = require('playwright-core');
const fs = require('fs');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const base = process.env.BASE_URL || 'http://127.0.0.1:5000';
  const slug = process.env.LETTER || 'g20-protect-education';
  const results = [];
  async function check(label) {
    await page.addScriptTag({ content: axeSource });
    const r = await page.evaluate(async () => await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }));
    results.push([label, r.violations.map(v => `${v.id} (${v.impact}, ${v.nodes.length}): ${v.help} — ${v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(' | ')}`)]);
  }
  await page.goto(base + '/staff/login'); await check('/staff/login');
  await page.fill('#email', process.env.STAFF_EMAIL); await page.fill('#password', 'wrong password, on purpose');
  await page.click('main button[type=submit]'); await page.waitForLoadState(); await check('login refused');
  await page.fill('#email', process.env.STAFF_EMAIL); await page.fill('#password', process.env.STAFF_PASSWORD);
  await page.click('main button[type=submit]'); await page.waitForLoadState();
  const paths = ['/staff/', `/staff/letters/${slug}`, '/staff/letters/new', `/staff/letters/${slug}/edit`, `/staff/letters/${slug}/export`, `/staff/letters/${slug}/deliveries`,
    '/staff/moderation', `/staff/moderation?letter=${slug}`, '/staff/accounts', '/staff/reasons',
    '/staff/audit', '/staff/account/password'];
  if (process.env.EXPORT_ID) paths.push(`/staff/letters/${slug}/exports/${process.env.EXPORT_ID}`);
  if (process.env.VERIFY_CODE) paths.push(`/v/${process.env.VERIFY_CODE}`);
  for (const lang of ['en', 'sq']) {
    for (const path of paths) {
      await page.goto(base + path + (path.includes('?') ? '&' : '?') + 'lang=' + lang);
      await check(`${path} (${lang})`);
    }
  }
  await page.goto(base + `/staff/moderation?letter=${slug}&lang=en`);
  await page.screenshot({ path: process.env.SCREENSHOT || 'staff-moderation.png', fullPage: true });
  await page.goto(base + `/staff/letters/${slug}`);
  await page.screenshot({ path: process.env.SCREENSHOT2 || 'staff-dashboard.png', fullPage: true });
  let total = 0;
  for (const [label, violations] of results) {
    total += violations.length;
    console.log(`${violations.length ? 'FAIL' : 'ok  '} ${label}`);
    for (const v of violations) console.log(`     ${v}`);
  }
  console.log(`${total} violation(s) on ${results.length} pages`);
  await browser.close();
  process.exit(total ? 1 : 0);
})();

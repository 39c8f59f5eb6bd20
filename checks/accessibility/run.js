// Runs axe-core (WCAG 2 A/AA and best practices) on the public pages, a refused submission
// and the check-your-email page, on a phone-sized viewport; prints the violations per page.
//   cd checks/accessibility && npm install && BASE_URL=http://127.0.0.1:5000 node run.js
const { chromium } = require('playwright-core');
const fs = require('fs');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const page = await browser.newPage({ viewport: { width: 412, height: 900 }, bypassCSP: true });
  const base = process.env.BASE_URL || 'http://127.0.0.1:5000';
  const results = [];
  async function check(label) {
    await page.addScriptTag({ content: axeSource });
    const r = await page.evaluate(async () => await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }));
    results.push([label, r.violations.map(v => `${v.id} (${v.impact}, ${v.nodes.length}): ${v.help}`)]);
  }
  for (const path of ['/', '/?lang=sq', '/letters/g20-protect-education', '/letters/inclusive-education-albania?lang=sq', '/letters/g20-protect-education/signatories?kind=individual']) {
    await page.goto(base + path); await check(path);
  }
  // an invalid submission (400 page with errors)
  await page.goto(base + '/letters/g20-protect-education?lang=sq');
  await page.click('button[type=submit]');
  await page.waitForLoadState();
  await check('400 page (sq)');
  await page.screenshot({ path: process.env.SCREENSHOT || 'error400.png' });
  // sign for real, then the confirm page
  await page.goto(base + '/letters/g20-protect-education');
  await page.fill('#name', 'Ana Hoxha'); await page.fill('#email', 'ana@example.org');
  await page.selectOption('#country', 'AL'); await page.check('#consent');
  await page.click('button[type=submit]'); await page.waitForLoadState();
  await check('check-email page');
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

// The workbench in a real browser: scores the sample data, starts `ekg serve` on a free port,
// drives headless Chromium (Debian's package) through search → entity → ring → expand, asserts
// on the page and saves screenshots into SHOTS (default target/screenshots).
//
//   node web/browser-test.mjs            (after `cargo build --release` and web/vendor.sh)
//   EKG_BIN=… CHROMIUM=… SHOTS=… node web/browser-test.mjs
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ekg = process.env.EKG_BIN || join(root, "target/release/ekg");
const shots = process.env.SHOTS || join(root, "target/screenshots");
const work = mkdtempSync(join(tmpdir(), "ekg-browser-"));
mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(`browser test: ${message}`);
  console.log(`ok - ${message}`);
}

// Two nights: the queue then says what is new since the first.
execFileSync(ekg, ["score", join(root, "sample-data"), "--out", join(work, "before"), "--as-of", "2025-06-30", "--quiet"], { stdio: "inherit" });
execFileSync(ekg, ["score", join(root, "sample-data"), "--out", join(work, "scores"), "--previous", join(work, "before"), "--quiet"], { stdio: "inherit" });
const server = spawn(ekg, ["serve", join(root, "sample-data"), "--scores", join(work, "scores"), "--port", "0", "--quiet"]);
const url = await new Promise((resolve, reject) => {
  let seen = "";
  server.stdout.on("data", (chunk) => {
    seen += chunk;
    const m = seen.match(/http:\/\/[0-9.:]+\//);
    if (m) resolve(m[0]);
  });
  server.stderr.on("data", (chunk) => process.stderr.write(chunk));
  server.on("exit", (code) => reject(new Error(`ekg serve exited with ${code}`)));
  setTimeout(() => reject(new Error("ekg serve did not print its URL within 60 s")), 60000);
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  // Alert queue.
  await page.goto(url);
  await page.waitForSelector("#alerts tbody tr");
  const rows = await page.locator("#alerts tbody tr").count();
  check(rows > 0, `the alert queue lists ${rows} flags`);
  check((await page.locator("#rings tbody tr").count()) > 0, "the queue lists rings");
  await page.screenshot({ path: join(shots, "alerts.png") });

  // Filter by a flag kind: every row then has that kind.
  await page.locator(".chip[data-kind='fund_cycle']").click();
  await page.waitForFunction(() => location.search.includes("kind=fund_cycle"));
  await page.waitForSelector("#alerts tbody tr");
  const kinds = await page.locator("#alerts tbody tr td:nth-child(3)").allTextContents();
  check(kinds.length > 0 && kinds.every((k) => k.split(" ")[0] === "fund_cycle"), `the kind filter keeps ${kinds.length} fund_cycle flags only`);

  // What is new since the previous night.
  await page.goto(url);
  await page.waitForSelector("select[data-facet='change']");
  await page.selectOption("select[data-facet='change']", "new");
  await page.waitForFunction(() => location.search.includes("change=new"));
  await page.waitForSelector("#alerts tbody tr");
  const fresh = await page.locator("#alerts tbody tr").count();
  const badges = await page.locator("#alerts tbody tr .badge.new").count();
  check(fresh > 0 && badges === fresh, `'since last night: new' keeps ${fresh} new flags, each marked new`);
  await page.screenshot({ path: join(shots, "alerts-new.png") });

  // Search by name → entity page.
  const ringId = await page.locator("#alerts tbody tr td:nth-child(5) a").first().textContent();
  const firmName = await page.evaluate(async () => {
    const r = await fetch("/api/alerts?kind=contagion_risk&limit=1").then((x) => x.json());
    return r.items[0].name;
  });
  await page.fill("#search", firmName.slice(0, 12));
  await page.waitForSelector("#search-results li a");
  check((await page.locator("#search-results li a").count()) > 0, `search '${firmName.slice(0, 12)}' offers entities`);
  await page.locator("#search-results li a").first().click();
  await page.waitForSelector("#entity-title");
  check((await page.locator("#entity-title").textContent()).includes(firmName.slice(0, 12)), "the entity page opens with its name first");
  await page.waitForFunction(() => window.ekgExplorer && window.ekgExplorer.nodes().length > 0);
  await page.screenshot({ path: join(shots, "entity.png"), fullPage: true });

  // Ring page: drawn, evidence in time order, step-through.
  await page.goto(`${url}ring/${ringId.replace("ring ", "")}`);
  await page.waitForSelector("#ring-title");
  await page.waitForFunction(() => window.ekgRing && window.ekgRing.nodes().length > 1);
  const drawn = await page.evaluate(() => ({ nodes: window.ekgRing.nodes().length, edges: window.ekgRing.edges().length }));
  const members = await page.locator("#members tbody tr").count();
  check(drawn.nodes === members, `the ring is drawn with its ${members} members and ${drawn.edges} evidence edges`);
  const times = await page.locator("#evidence tbody tr td:nth-child(2)").allTextContents();
  check(times.every((t, i) => i === 0 || times[i - 1] <= t), "the evidence is in time order");
  await page.locator("#step").fill("1");
  await page.locator("#step").dispatchEvent("input");
  const hidden = await page.evaluate(() => window.ekgRing.edges(".future").length);
  check(hidden === drawn.edges - 1, "the time slider shows the first event only");
  await page.locator("#step").fill(String(drawn.edges));
  await page.locator("#step").dispatchEvent("input");
  await page.screenshot({ path: join(shots, "ring.png"), fullPage: true });

  // Expand a member's neighbourhood on the canvas.
  await page.locator("#members tbody tr td a").first().click();
  await page.waitForSelector("#entity-title");
  await page.waitForFunction(() => window.ekgExplorer && window.ekgExplorer.nodes().length > 0);
  const before = await page.evaluate(() => window.ekgExplorer.nodes().length);
  await page.evaluate(() => window.ekgExplorer.nodes().filter((n) => !n.data("centre")).slice(0, 3).select());
  await page.locator("#expand").click();
  await page.waitForFunction((n) => window.ekgExplorer.nodes().length > n, before, { timeout: 15000 });
  const after = await page.evaluate(() => window.ekgExplorer.nodes().length);
  check(after > before, `expanding selected nodes grows the view from ${before} to ${after} nodes`);
  await page.screenshot({ path: join(shots, "explore.png"), fullPage: true });

  // An unknown entity shows the API's message.
  await page.goto(`${url}node/NO-SUCH-ID`);
  await page.waitForSelector("#error");
  check((await page.locator("#error").textContent()).includes("no entity"), "an unknown id shows 'no entity'");
  check(errors.length === 0, `no script errors (${errors.join("; ")})`);
} catch (error) {
  failed = true;
  console.error(error.message);
} finally {
  await browser.close();
  server.kill();
  rmSync(work, { recursive: true, force: true });
}
console.log(failed ? "browser test FAILED" : `browser test passed; screenshots in ${shots}`);
process.exit(failed ? 1 : 0);

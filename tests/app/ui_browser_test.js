// The status drawer page in headless Chromium (Debian's /usr/bin/chromium,
// driven by npm playwright-core), against a running presync and the
// emulators that ui_e2e_test.py started. Prints "ok   ..." / "FAIL ..."
// lines and exits 1 on any failure. Every wait polls for a condition with
// a deadline.
//
// Usage: node ui_browser_test.js '{"url":..,"token":..,"tenant":..,
//   "agent":..,"graph":..,"connect":..,"olivia":..,"ada":..,
//   "ada_graph":..,"screenshot":..}'
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const args = JSON.parse(process.argv[2]);
let failures = 0;

function check(cond, what) {
  console.log((cond ? "ok   " : "FAIL ") + what);
  if (!cond) {
    failures += 1;
  }
}

async function control(base, method, route, body) {
  const res = await fetch(base + "/_control/" + route, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (res.status >= 300) {
    throw new Error(`control ${method} ${route}: ${res.status}`);
  }
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

async function waitFor(what, pred, ms = 20000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if (await pred()) {
        check(true, what);
        return true;
      }
    } catch (e) {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  check(false, `${what} (not within ${ms} ms)`);
  return false;
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "presync-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
      "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
    ],
  });
  // Nothing but presync and the page's own origin may be contacted.
  const origin = new URL(args.url).origin;
  const foreign = [];
  await context.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith(origin)) {
      return route.continue();
    }
    foreign.push(u);
    return route.abort();
  });

  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const fragment = new URLSearchParams({
      token: args.token, tenant: args.tenant, agent: args.agent });
    await page.goto(args.url + "#" + fragment.toString());

    const rows = page.locator("li.person");
    await waitFor("the page lists all 6 people",
                  async () => (await rows.count()) === 6);
    check(!page.url().includes(args.token),
          "the token is gone from the address bar");
    const olivia = page.locator(`li.person[data-person="${args.olivia}"]`);
    check(await olivia.locator(".badge.teams").count() === 1,
          "a Teams user carries the Teams badge");
    await waitFor("the stream is live", async () =>
      (await page.locator("#live").textContent()) === "live");

    // A presence change in the Graph emulator shows without a reload.
    const before = await olivia.locator(".dot").getAttribute("data-presence");
    const target = before === "dnd" ? "Busy" : "DoNotDisturb";
    const want = target === "Busy" ? "busy" : "dnd";
    await control(args.graph, "PUT", `users/${args.olivia}/teams-client`,
                  { availability: target, activity: target === "Busy" ?
                    "InACall" : "Presenting" });
    let navigations = 0;
    page.on("framenavigated", () => { navigations += 1; });
    await waitFor(`Olivia's dot turns ${want} live`, async () =>
      (await olivia.locator(".dot").getAttribute("data-presence")) === want);
    check(navigations === 0, "the page did not reload");

    // The presence filter keeps only matching people.
    await page.selectOption("#presence", want);
    await waitFor("the presence filter shows only Olivia", async () =>
      (await rows.count()) === 1 &&
      (await rows.first().getAttribute("data-person")) === args.olivia);
    await page.selectOption("#presence", "");
    await waitFor("clearing the filter lists everyone again",
                  async () => (await rows.count()) === 6);

    // Search narrows the list.
    await page.fill("#search", "oliv");
    await waitFor("search narrows the list to Olivia", async () =>
      (await rows.count()) === 1 &&
      (await rows.first().locator(".name").textContent()) === "Olivia Office");
    await page.fill("#search", "555 0101");
    await waitFor("search by number finds Ada", async () =>
      (await rows.count()) === 1 &&
      (await rows.first().locator(".name").textContent()) === "Ada Agent");
    await page.fill("#search", "");
    await waitFor("an empty search lists everyone again",
                  async () => (await rows.count()) === 6);

    // Nora has no number: her call button is disabled and says why.
    const nora = rows.filter({ hasText: "Nora Nophone" });
    check(await nora.locator("button.call").isDisabled(),
          "a person without a number cannot be called");

    // Clicking call reaches the Connect emulator with Olivia's number.
    const callsBefore =
      (await control(args.connect, "GET", "outbound-calls")).calls.length;
    await olivia.locator("button.call").click();
    await waitFor("the call reaches StartOutboundVoiceContact", async () => {
      const calls = (await control(args.connect, "GET", "outbound-calls")).calls;
      return calls.length === callsBefore + 1 &&
        calls[calls.length - 1].destination === "+14255550199" &&
        calls[calls.length - 1].attributes.presync_target_person === args.olivia;
    });
    await waitFor("the page confirms the call", async () =>
      (await page.locator("#toast").textContent()).includes("+14255550199"));

    // A person's panel shows the decision journal.
    const ada = page.locator(`li.person[data-person="${args.ada}"]`);
    await ada.locator(".name").click();
    await waitFor("the panel shows Ada's journal", async () =>
      (await page.locator("#panel h2").first().textContent()) === "Ada Agent" &&
      (await page.locator("#panel table.journal tr").count()) > 0 &&
      (await page.locator("#panel").textContent()).includes("propagated"));

    await page.screenshot({ path: args.screenshot, fullPage: true });
    check(fs.existsSync(args.screenshot), "a screenshot was kept");
    check(errors.length === 0, "no script errors: " + errors.join("; "));
    check(foreign.length === 0,
          "the page asked for nothing outside presync: " + foreign.join(" "));
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => process.exit(failures ? 1 : 0), (e) => {
  console.log("FAIL " + (e && e.stack || e));
  process.exit(1);
});

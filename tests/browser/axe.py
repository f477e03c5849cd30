"""axe-core in the browser tests: `serious_problems(page)` runs the vendored static/js/axe.min.js
(version and licence in static/js/README.md) on the page as it stands and returns the serious and
critical violations, one line each, for an assertion message that says what to fix."""

from playwright.sync_api import Page

AXE_URL = "/static/js/axe.min.js"  # served like any static file: the CSP allows 'self' scripts

_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}"""


def serious_problems(page: Page) -> list[str]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    return [f"{page.url}: {problem}" for problem in page.evaluate(_RUN)]

"""The page-side JavaScript of ``bench.browser``: hooks that let a wait tell server time
from browser time and know when a run has drawn everything (not a bench of its own)."""

#: Notes when the page last heard from the server, to split a wait into server and browser time.
WS_HOOK_JS = """(() => {
  const Native = window.WebSocket;
  function Hooked(...args) {
    const ws = new Native(...args);
    ws.addEventListener('message', () => { window.__wsLast = performance.now(); });
    return ws;
  }
  Hooked.prototype = Native.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Hooked[k] = Native[k];
  window.WebSocket = Hooked;
})();"""
#: Counts the script runs the page finishes (``window.__runs``), so a wait can insist on a new one.
RUNS_JS = """() => {
  if (window.__runs !== undefined) return;
  window.__runs = 0;
  const watch = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app) { setTimeout(watch, 10); return; }
    new MutationObserver((records) => {  // every run ends by leaving the running state
      for (const r of records) if (r.oldValue === 'running') window.__runs += 1;
    }).observe(app, {attributes: true, attributeOldValue: true,
                     attributeFilter: ['data-test-script-state']});
  };
  watch();
}"""
#: True once a new run is over, nothing on the page is stale and every chart has drawn.
READY_JS = """([title, runs]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if ((window.__runs || 0) <= runs) return false;
  const h1 = document.querySelector('[data-testid="stMain"] h1');
  if (!h1 || !h1.textContent.startsWith(title)) return false;
  if (document.querySelector('[data-testid="stMain"] [data-stale="true"]')) return false;
  for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
    if (!c.querySelector('.main-svg')) return false;
  }
  return true;
}"""

// zkpay till: the shop-counter page. Self-contained (no library, no CDN); every text from the
// server is set with textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
let session = null;
let state = null;
let clockOffset = 0; // server time minus local time (seconds)
let current = Number(sessionStorage.getItem('till.current')) || null;
let events = null;
let lastStatus = new Map();
let audio = null;

const STATUS_TEXT = {
  waiting: () => '\u25D4 Waiting for payment',
  paid: () => '\u25CF Paid \u2014 confirming\u2026',
  confirmed: (r) => '\u2714 Confirmed in batch ' + r.batch,
  unverified: (r) => '? Committed in batch ' + r.batch + ' \u2014 ask for the receipt',
  underpaid: (r) => '\u26A0 Underpaid: received ' + r.received_text + ' of ' + r.amount_text,
  overpaid: (r) => '\u26A0 Wrong amount: received ' + r.received_text,
  wrong_asset: () => '\u26A0 Paid in the wrong asset',
  expired: () => '\u2716 Expired',
};
const SHORT = {
  waiting: 'waiting', paid: 'paid', confirmed: 'confirmed', unverified: 'ask for receipt',
  underpaid: 'UNDERPAID', overpaid: 'wrong amount', wrong_asset: 'wrong asset', expired: 'expired',
};

async function api(path, opts) {
  const o = Object.assign({ credentials: 'same-origin', headers: {} }, opts || {});
  if (o.method === 'POST') {
    o.headers['Content-Type'] = 'application/json';
    o.headers['X-Zkpay-Till'] = '1';
  }
  const r = await fetch(path, o);
  let body = null;
  try { body = await r.json(); } catch (_) { body = null; }
  if (!r.ok) {
    const e = new Error((body && body.message) || ('HTTP ' + r.status));
    e.status = r.status;
    throw e;
  }
  return body;
}

function show(el, on) { el.hidden = !on; }

function beep(kind) {
  try {
    audio = audio || new AudioContext();
    const tones = kind === 'good' ? [660, 880] : [220, 180];
    tones.forEach((f, i) => {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.value = 0.15;
      o.connect(g).connect(audio.destination);
      o.start(audio.currentTime + i * 0.18);
      o.stop(audio.currentTime + i * 0.18 + 0.16);
    });
  } catch (_) { /* no sound on this device */ }
}

function flash(el) {
  el.classList.remove('flash');
  void el.offsetWidth;
  el.classList.add('flash');
}

function renderCurrent() {
  const r = state && current ? state.requests.find((x) => x.id === current) : null;
  show($('request'), !!r);
  if (!r) return;
  if ($('qr').dataset.id !== String(r.id)) {
    $('qr').src = '/api/requests/' + r.id + '/qr.svg';
    $('qr').dataset.id = String(r.id);
  }
  $('req-merchant').textContent = state.merchant;
  $('req-amount').textContent = r.amount_text;
  $('req-words').textContent = r.amount_words;
  $('req-order').textContent = [r.order ? 'Order ' + r.order : null, r.message].filter(Boolean).join(' \u00B7 ');
  $('req-uri').textContent = r.uri;
  const st = $('status');
  st.dataset.status = r.status;
  st.textContent = STATUS_TEXT[r.status](r);
  const before = lastStatus.get(r.id);
  if (before !== undefined && before !== r.status) {
    flash(st);
    if (r.status === 'confirmed') beep('good');
    if (['underpaid', 'overpaid', 'wrong_asset', 'expired'].includes(r.status)) beep('bad');
  }
  tick();
}

function tick() {
  const r = state && current ? state.requests.find((x) => x.id === current) : null;
  if (!r) return;
  const left = Math.max(0, Math.floor((r.expires ?? 0) - (Date.now() / 1000 + clockOffset)));
  const open = r.expires != null && (r.status === 'waiting' || r.status === 'underpaid');
  $('countdown').textContent = open
    ? 'Expires in ' + Math.floor(left / 60) + ':' + String(left % 60).padStart(2, '0')
    : '';
}

function isToday(t) {
  const d = new Date(t * 1000);
  const n = new Date();
  return d.getFullYear() === n.getFullYear() && d.getMonth() === n.getMonth() && d.getDate() === n.getDate();
}

function renderHistory() {
  const body = $('history').tBodies[0];
  body.replaceChildren();
  for (const r of state.requests) {
    if (!isToday(r.created)) continue;
    const tr = document.createElement('tr');
    tr.dataset.id = String(r.id);
    const cells = [
      new Date(r.created * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
      r.order || r.message || r.invoice,
      r.amount_text,
      SHORT[r.status] || r.status,
      r.batch == null ? '' : String(r.batch),
    ];
    cells.forEach((c, i) => {
      const td = document.createElement('td');
      td.textContent = c;
      if (i === 3) td.className = 'st-' + r.status;
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
  // totals over the whole day, computed by the till over its whole book
  const parts = state.totals.map((t) => t.amount_text);
  $('totals').textContent = parts.length ? 'Confirmed today: ' + parts.join(', ') : 'Nothing confirmed yet today.';
}

function renderNode() {
  const n = state.node;
  const banner = $('node-banner');
  if (n.ok || !n.error) {
    show(banner, false);
  } else {
    const since = new Date(n.since * 1000).toLocaleTimeString();
    banner.textContent = (n.unreachable
      ? 'The node cannot be reached since ' + since
      : 'The node\u2019s answers are refused since ' + since) +
      ': payments are not seen until this is resolved (' + n.error + ').';
    show(banner, true);
  }
}

function apply(s) {
  state = s;
  clockOffset = s.now - Date.now() / 1000;
  renderNode();
  renderHistory();
  renderCurrent();
  for (const r of s.requests) lastStatus.set(r.id, r.status);
  document.body.dataset.version = String((Number(document.body.dataset.version) || 0) + 1);
}

function connect() {
  if (events) events.close();
  events = new EventSource('/api/events?tz=' + String(-new Date().getTimezoneOffset()));
  events.addEventListener('state', (ev) => {
    show($('offline'), false);
    apply(JSON.parse(ev.data));
  });
  events.addEventListener('error', () => {
    show($('offline'), true);
    // a closed stream (the server answered an error) is reopened by hand
    if (events.readyState === EventSource.CLOSED) setTimeout(start, 2000);
  });
}

async function start() {
  try {
    session = await api('/api/session');
  } catch (_) {
    show($('offline'), true);
    setTimeout(start, 2000);
    return;
  }
  show($('offline'), false);
  $('merchant').textContent = session.merchant;
  $('network').textContent = session.network;
  document.title = session.merchant + ' \u2014 zkpay till';
  if (session.auth_required && !session.authenticated) {
    show($('login'), true);
    show($('main'), false);
    $('token').focus();
    return;
  }
  show($('login'), false);
  show($('main'), true);
  const sel = $('asset');
  if (!sel.options.length) {
    for (const a of session.assets) {
      const o = document.createElement('option');
      o.value = a.text;
      o.textContent = a.symbol;
      sel.appendChild(o);
    }
  }
  connect();
  $('amount').focus();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  try {
    await api('/api/login', { method: 'POST', body: JSON.stringify({ token: $('token').value }) });
    $('token').value = '';
    start();
  } catch (e) {
    $('login-error').textContent = e.status === 401 ? 'Wrong token.' : e.message;
  }
});

$('new').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('form-error').textContent = '';
  const body = {
    amount: $('amount').value,
    asset: $('asset').value,
    order: $('order').value || null,
    label: $('label').value || null,
  };
  try {
    const r = await api('/api/requests', { method: 'POST', body: JSON.stringify(body) });
    current = r.request.id;
    sessionStorage.setItem('till.current', String(current));
    lastStatus.set(current, r.request.status);
    if (state) {
      state.requests = [r.request].concat(state.requests.filter((x) => x.id !== current));
      renderHistory();
    }
    renderCurrent();
    $('order').value = '';
    $('label').value = '';
  } catch (e) {
    $('form-error').textContent = e.message;
  }
});

async function checkReceipt(text) {
  const out = $('receipt-result');
  out.className = '';
  out.textContent = 'Checking\u2026';
  try {
    const r = await fetch('/api/receipts/verify', {
      method: 'POST', credentials: 'same-origin', body: text,
      headers: { 'Content-Type': 'application/json', 'X-Zkpay-Till': '1' },
    });
    const v = await r.json();
    if (r.ok && v.ok) {
      out.className = 'valid';
      let text = 'VALID: ' + v.verified.statement +
        (v.to_this_till ? ' Paid to this till.' : ' NOT paid to this till (' + v.verified.merchant + ').');
      if (v.request) {
        text += ' For request ' + v.request.id + (v.request.order ? ' (order ' + v.request.order + ')' : '') + '.';
        if (v.imported) text += ' Its note is now imported: the request will turn confirmed.';
        else if (v.request.already_counted) text += ' Already counted in today\u2019s takings.';
      } else if (v.to_this_till) {
        text += ' No request of this till carries its invoice.';
      }
      out.textContent = text;
    } else {
      out.className = 'invalid';
      out.textContent = 'NOT VALID: ' + (v.message || ('HTTP ' + r.status));
    }
  } catch (e) {
    out.className = 'invalid';
    out.textContent = 'Could not check: ' + e.message;
  }
}

$('receipt-check').addEventListener('click', () => checkReceipt($('receipt-text').value));
$('receipt-file').addEventListener('change', async () => {
  const f = $('receipt-file').files[0];
  if (f) checkReceipt(await f.text());
});
const drop = $('drop');
drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', async (ev) => {
  ev.preventDefault();
  drop.classList.remove('over');
  const f = ev.dataTransfer.files[0];
  if (f) checkReceipt(await f.text());
});

setInterval(tick, 250);
start();

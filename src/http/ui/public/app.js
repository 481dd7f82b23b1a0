// FLEET-Q dashboard: a dependency-free single page over the pod's JSON routes. Every value from the
// server is inserted as text (never as HTML). Views refresh every 5 s while the tab is visible and
// "Live" is on; each refresh is one request costing the database at most two statements.

const REFRESH_MS = 5000;
const PAGE_SIZE = 50;
const SVG_NS = 'http://www.w3.org/2000/svg';
const TOKEN_KEY = 'fleet-q-token';

const view = document.getElementById('view');
const banner = document.getElementById('banner');
const updated = document.getElementById('updated');
const live = document.getElementById('live');

let timer = null;
/** DLQ rows ticked for replay; kept across refreshes of the page. */
const dlqSelected = new Set();
let renderSeq = 0;

// ---------- DOM helpers ----------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}
const fmt = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US'));
const when = (iso) =>
  iso
    ? new Date(iso)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '—';
const badge = (status) => h('span', { class: `badge s-${status}` }, status);
function age(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}
function table(headers, rows, caption) {
  return h(
    'table',
    {},
    caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((x) => h('th', { scope: 'col', class: x.num ? 'num' : x.cls }, x.label ?? x)),
      ),
    ),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'None'))),
  );
}
const cell = (content, cls) => h('td', { class: cls }, content);

// ---------- API ----------
class ApiError extends Error {
  constructor(status, body) {
    super(body && body.detail ? body.detail : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}
async function api(path, options = {}) {
  const headers = { accept: 'application/json', ...(options.body ? { 'content-type': 'application/json' } : {}) };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { ...options, headers });
  const text = await res.text();
  const body = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}
function showBanner(message, kind = 'error') {
  banner.textContent = message;
  banner.className = kind === 'info' ? 'info' : '';
  banner.hidden = false;
}
function clearBanner() {
  banner.hidden = true;
  banner.textContent = '';
}
function reportError(err) {
  if (err instanceof ApiError && err.status === 401) {
    showBanner('This pod requires an API token: choose “API token” and paste one with the read scope.');
  } else if (err instanceof ApiError && err.status === 403) {
    showBanner(`Not allowed with this token: ${err.message}`);
  } else {
    showBanner(`Could not load: ${err.message}`);
  }
}

// ---------- dialogs ----------
function confirmAction(text, okLabel) {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}
document.getElementById('token-button').addEventListener('click', () => {
  const dialog = document.getElementById('token-dialog');
  const input = document.getElementById('token-input');
  input.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  dialog.addEventListener(
    'close',
    () => {
      if (dialog.returnValue === 'save' && input.value.trim()) sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      if (dialog.returnValue === 'clear') sessionStorage.removeItem(TOKEN_KEY);
      if (dialog.returnValue !== 'cancel') route();
    },
    { once: true },
  );
  dialog.returnValue = 'cancel';
  dialog.showModal();
});

// ---------- charts and diagrams ----------
const KIND_COLORS = { completed: '#1a7f37', retried: '#9a6700', dead_lettered: '#cf222e' };

function throughputChart(points) {
  const W = 760,
    H = 200,
    left = 40,
    bottom = 24,
    top = 10;
  const kinds = Object.keys(KIND_COLORS);
  const max = Math.max(1, ...points.map((p) => kinds.reduce((sum, k) => sum + p[k], 0)));
  const bw = (W - left - 8) / Math.max(1, points.length);
  const y = (v) => top + (H - top - bottom) * (1 - v / max);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title' });
  svg.append(s('title', { id: 'chart-title' }, 'Steps completed, retried and dead-lettered per minute over the last hour'));
  svg.append(s('line', { x1: left, x2: W, y1: H - bottom, y2: H - bottom, stroke: '#b6bec9' }));
  svg.append(s('text', { x: left - 6, y: y(max) + 4, 'text-anchor': 'end' }, String(max)));
  svg.append(s('text', { x: left - 6, y: H - bottom + 4, 'text-anchor': 'end' }, '0'));
  points.forEach((p, i) => {
    let base = 0;
    const x = left + i * bw;
    for (const k of kinds) {
      if (p[k] > 0) {
        const rect = s('rect', { x: x + 1, width: Math.max(1, bw - 2), y: y(base + p[k]), height: y(base) - y(base + p[k]), fill: KIND_COLORS[k] });
        rect.append(s('title', {}, `${when(p.ts)}: ${p[k]} ${k}`));
        svg.append(rect);
      }
      base += p[k];
    }
    if (i % 10 === 0) svg.append(s('text', { x, y: H - 6 }, p.ts.slice(11, 16)));
  });
  return svg;
}

/** Layers by distance from the initial state; backward edges arc the other way. */
function lifecycleDiagram(graph, path, currentState) {
  const layer = new Map([[graph.initial, 0]]);
  const queue = [graph.initial];
  while (queue.length) {
    const at = queue.shift();
    for (const e of graph.edges)
      if (e.from === at && !layer.has(e.to)) {
        layer.set(e.to, layer.get(at) + 1);
        queue.push(e.to);
      }
  }
  for (const st of graph.states) if (!layer.has(st)) layer.set(st, 0);
  const byLayer = new Map();
  for (const st of graph.states) {
    const l = layer.get(st);
    byLayer.set(l, [...(byLayer.get(l) ?? []), st]);
  }
  const NW = 110,
    NH = 38,
    GAP = 235,
    H = 330,
    pos = new Map();
  for (const [l, states] of byLayer) states.forEach((st, i) => pos.set(st, { x: 20 + l * GAP, y: 120 - ((states.length - 1) * 100) / 2 + i * 100 - NH / 2 }));
  const W = 20 + Math.max(...layer.values()) * GAP + NW + 20;
  const taken = new Map();
  path.forEach((p, i) => {
    if (p.legal) {
      const key = `${p.from}|${p.to}|${p.kind}`;
      taken.set(key, [...(taken.get(key) ?? []), i + 1]);
    }
  });
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'diagram', role: 'img', 'aria-labelledby': 'diagram-title' });
  svg.append(s('title', { id: 'diagram-title' }, 'Step lifecycle with this step’s path highlighted'));
  svg.append(
    s(
      'defs',
      {},
      ['plain', 'taken'].map((id) =>
        s(
          'marker',
          { id: `arrow-${id}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
          s('path', { d: 'M0,0 L10,5 L0,10 z', fill: id === 'taken' ? '#1f6feb' : '#b6bec9' }),
        ),
      ),
    ),
  );
  const pairCount = new Map();
  for (const e of graph.edges) {
    const steps = taken.get(`${e.from}|${e.to}|${e.event}`);
    if (e.from === e.to && !steps) continue; // a status-preserving event is drawn only where this step met it
    const a = pos.get(e.from),
      b = pos.get(e.to);
    const pair = `${e.from}|${e.to}`;
    const k = pairCount.get(pair) ?? 0;
    pairCount.set(pair, k + 1);
    const backward = layer.get(e.to) < layer.get(e.from);
    let d, lx, ly;
    if (e.from === e.to) {
      const cx = a.x + NW / 2,
        cy = a.y;
      d = `M${cx - 15},${cy} C${cx - 30},${cy - 45} ${cx + 30},${cy - 45} ${cx + 15},${cy}`;
      lx = cx;
      ly = cy - 38;
    } else if (backward) {
      // Below the row: bottom centre to bottom centre, each further event between the pair one arc deeper.
      const x1 = a.x + NW / 2,
        y1 = a.y + NH,
        x2 = b.x + NW / 2,
        y2 = b.y + NH;
      const cy = Math.max(y1, y2) + 45 + k * 38;
      d = `M${x1},${y1} Q${(x1 + x2) / 2},${cy} ${x2},${y2}`;
      lx = (x1 + x2) / 2;
      ly = (y1 + 2 * cy + y2) / 4 + 13;
    } else {
      const x1 = a.x + NW,
        y1 = a.y + NH / 2,
        x2 = b.x,
        y2 = b.y + NH / 2;
      const bend = k * 28;
      const mx = (x1 + x2) / 2,
        my = (y1 + y2) / 2 + bend;
      d = `M${x1},${y1} Q${mx},${my} ${x2},${y2}`;
      lx = mx;
      ly = (y1 + y2) / 2 + bend / 2 - 7;
    }
    const label = steps ? `${e.event} #${steps.join(',')}` : e.event;
    svg.append(
      s(
        'g',
        { class: `edge${steps ? ' taken' : ''}`, 'data-event': e.event, 'data-from': e.from, 'data-to': e.to },
        s('path', { d, 'marker-end': `url(#arrow-${steps ? 'taken' : 'plain'})` }),
        s('text', { x: lx, y: ly, 'text-anchor': 'middle' }, label),
      ),
    );
  }
  const visited = new Set(path.filter((p) => p.legal).flatMap((p) => [p.from, p.to]));
  for (const st of graph.states) {
    const p = pos.get(st);
    svg.append(
      s(
        'g',
        { class: `node${visited.has(st) ? ' visited' : ''}${st === currentState ? ' current' : ''}`, 'data-state': st },
        s('rect', { x: p.x, y: p.y, width: NW, height: NH, rx: 8 }),
        s('text', { x: p.x + NW / 2, y: p.y + NH / 2 + 4, 'text-anchor': 'middle' }, st),
      ),
    );
  }
  return svg;
}

// ---------- views ----------
async function overviewPage() {
  const o = await api('/ui/api/overview');
  const q = o.queue;
  const metric = (name, value, label) =>
    h('div', { class: 'card', 'data-metric': name }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label));
  const totals = Object.keys(KIND_COLORS).map((k) => [k, o.throughput.reduce((sum, p) => sum + p[k], 0)]);
  return [
    h('h2', {}, 'Overview'),
    h(
      'div',
      { class: 'cards' },
      metric('pending', fmt(q.pending_steps), 'pending'),
      metric('claimed', fmt(q.claimed_steps), 'claimed (running)'),
      metric('completed', fmt(q.completed_steps), 'completed'),
      metric('failed', fmt(q.failed_steps), 'dead-lettered'),
      metric('oldest', age(o.oldest_pending_age_seconds), 'oldest due step waiting'),
      metric('pods', fmt(q.active_pods), `live pods · leader ${q.current_leader ?? 'none'}`),
    ),
    h('h3', {}, 'Throughput, last hour (per minute)'),
    h(
      'div',
      { class: 'panel' },
      throughputChart(o.throughput),
      h(
        'div',
        { class: 'legend' },
        totals.map(([k, n]) =>
          h('span', { 'data-total': k }, h('span', { class: 'swatch', style: `background:${KIND_COLORS[k]}` }), `${k.replace('_', '-')}: ${fmt(n)}`),
        ),
      ),
    ),
    h(
      'div',
      { class: 'grid2' },
      h(
        'section',
        {},
        h('h3', {}, 'Pending by priority'),
        h(
          'div',
          { class: 'panel' },
          table(
            [{ label: 'priority' }, { label: 'pending', num: true }],
            Object.entries(q.queue_depth_by_priority)
              .sort((a, b) => Number(b[0]) - Number(a[0]))
              .map(([p, n]) => h('tr', {}, cell(p), cell(fmt(n), 'num'))),
            'Pending steps by priority',
          ),
        ),
      ),
      h(
        'section',
        {},
        h('h3', {}, 'Pending and running by type'),
        h(
          'div',
          { class: 'panel' },
          table(
            [{ label: 'type' }, { label: 'steps', num: true }],
            Object.entries(q.steps_by_type)
              .sort((a, b) => b[1] - a[1])
              .map(([t, n]) => h('tr', {}, cell(h('a', { href: `#/steps?type=${encodeURIComponent(t)}` }, t)), cell(fmt(n), 'num'))),
            'Pending and claimed steps by type',
          ),
        ),
      ),
    ),
  ];
}

async function podsPage() {
  const p = await api('/ui/api/pods');
  return [
    h('h2', {}, 'Pods'),
    h('p', {}, `${p.live_pods} live. Leader: `, p.leader ? h('code', {}, p.leader) : 'none', p.leader_birth_ts ? ` (born ${when(p.leader_birth_ts)})` : ''),
    h(
      'div',
      { class: 'panel' },
      table(
        [
          { label: 'pod' },
          { label: 'status' },
          { label: 'in flight', num: true },
          { label: 'capacity', num: true },
          { label: 'heartbeat age', num: true },
          { label: 'born', cls: 'hide-narrow' },
          { label: 'version', cls: 'hide-narrow' },
          { label: 'host', cls: 'hide-narrow' },
        ],
        p.pods.map((pod) =>
          h(
            'tr',
            { 'data-pod': pod.pod_id },
            cell(h('code', {}, pod.pod_id)),
            cell([badge(pod.live ? 'up' : 'down'), pod.is_leader ? h('span', { class: 'badge', style: 'margin-left:6px' }, 'leader') : null]),
            cell(fmt(pod.in_flight), 'num'),
            cell(`${fmt(pod.capacity)} of ${fmt(pod.max_parallelism)}`, 'num'),
            cell(age(pod.heartbeat_age_seconds), 'num'),
            cell(when(pod.birth_ts), 'hide-narrow'),
            cell(pod.version ?? '—', 'hide-narrow'),
            cell(pod.host ?? '—', 'hide-narrow'),
          ),
        ),
        'Pods',
      ),
    ),
  ];
}

function stepsQuery(params) {
  const q = new URLSearchParams();
  for (const k of ['status', 'type', 'step_id', 'idempotency_key', 'offset']) if (params.get(k)) q.set(k, params.get(k));
  return q;
}

async function stepsPage(params) {
  const q = stepsQuery(params);
  q.set('limit', String(PAGE_SIZE));
  const page = await api(`/ui/api/steps?${q}`);
  const offset = Number(params.get('offset') ?? 0);
  const go = (delta) => {
    const next = stepsQuery(params);
    next.set('offset', String(Math.max(0, offset + delta)));
    location.hash = `#/steps?${next}`;
  };
  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      onsubmit: (ev) => {
        ev.preventDefault();
        const data = new FormData(ev.target);
        const next = new URLSearchParams();
        for (const [k, v] of data) if (String(v).trim()) next.set(k, String(v).trim());
        location.hash = `#/steps?${next}`;
      },
    },
    h(
      'label',
      {},
      'Status',
      h(
        'select',
        { name: 'status' },
        ['', 'pending', 'claimed', 'completed', 'failed', 'cancelled'].map((st) =>
          h('option', { value: st, selected: params.get('status') === st || (!params.get('status') && st === '') }, st || 'any'),
        ),
      ),
    ),
    h('label', {}, 'Type', h('input', { name: 'type', value: params.get('type') ?? '', placeholder: 'email.send', size: 14 })),
    h('label', {}, 'Step id (or prefix)', h('input', { name: 'step_id', value: params.get('step_id') ?? '', placeholder: 'step_01…', size: 22 })),
    h('label', {}, 'Idempotency key', h('input', { name: 'idempotency_key', value: params.get('idempotency_key') ?? '', size: 16 })),
    h('button', { type: 'submit', class: 'primary' }, 'Search'),
  );
  return [
    h('h2', {}, 'Steps'),
    form,
    h(
      'div',
      { class: 'panel' },
      table(
        [
          { label: 'step' },
          { label: 'type' },
          { label: 'status' },
          { label: 'priority', num: true },
          { label: 'attempt', num: true },
          { label: 'retries', num: true },
          { label: 'updated', cls: 'hide-narrow' },
        ],
        page.steps.map((st) =>
          h(
            'tr',
            { 'data-step': st.step_id },
            cell(h('a', { href: `#/step/${encodeURIComponent(st.step_id)}` }, h('code', {}, st.step_id))),
            cell(st.type),
            cell(badge(st.status)),
            cell(fmt(st.priority), 'num'),
            cell(fmt(st.attempt), 'num'),
            cell(`${st.retry_count}/${st.max_retries}`, 'num'),
            cell(when(st.last_update_ts), 'hide-narrow'),
          ),
        ),
        'Steps matching the filters',
      ),
    ),
    h(
      'div',
      { class: 'pager' },
      h('button', { type: 'button', disabled: offset === 0, onclick: () => go(-PAGE_SIZE) }, '← Previous'),
      h('span', { class: 'muted' }, page.steps.length ? `${offset + 1}–${offset + page.steps.length}` : 'no steps'),
      h('button', { type: 'button', disabled: !page.has_more, onclick: () => go(PAGE_SIZE) }, 'Next →'),
    ),
  ];
}

async function replay(ids) {
  const failures = [];
  for (const id of ids) {
    try {
      await api(`/admin/dlq/${encodeURIComponent(id)}/replay`, { method: 'POST', body: '{}' });
    } catch (err) {
      failures.push(`${id}: ${err.message}`);
    }
  }
  if (failures.length) showBanner(`Replay failed for ${failures.length} step(s): ${failures.join('; ')}`);
  else showBanner(`Replayed ${ids.length} step(s): back to pending.`, 'info');
}

async function stepPage(stepId) {
  const [d, graph] = await Promise.all([api(`/ui/api/steps/${encodeURIComponent(stepId)}`), api('/ui/api/lifecycle')]);
  const st = d.step;
  const attempts = new Map();
  d.path.forEach((p, i) => {
    const a = p.attempt;
    attempts.set(a, [...(attempts.get(a) ?? []), { ...p, n: i + 1 }]);
  });
  const fact = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  return [
    h('h2', {}, 'Step ', h('code', {}, st.step_id)),
    st.status === 'failed'
      ? h(
          'p',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'danger',
              onclick: async () => {
                if (await confirmAction(`Replay ${st.step_id}? It goes back to pending with its retries reset.`, 'Replay')) {
                  await replay([st.step_id]);
                  route();
                }
              },
            },
            'Replay from the dead-letter queue',
          ),
        )
      : null,
    h(
      'div',
      { class: 'grid2' },
      h(
        'section',
        { class: 'panel' },
        h(
          'dl',
          { class: 'facts' },
          fact('status', badge(st.status)),
          fact('type', st.payload.type),
          fact('priority', fmt(st.priority)),
          fact('attempt', fmt(st.attempt)),
          fact('retries', `${st.retry_count} of ${st.max_retries}`),
          fact('releases', fmt(d.release_count)),
          fact('claimed by', st.claimed_by ? h('code', {}, st.claimed_by) : '—'),
          fact('idempotency key', h('code', {}, d.idempotency_key)),
          fact('timeout', `${fmt(d.timeout_ms)} ms`),
          fact('created', when(st.created_ts)),
          fact('updated', when(st.last_update_ts)),
          fact('run after', when(d.run_after)),
        ),
      ),
      h(
        'section',
        { class: 'panel' },
        h('h3', { style: 'margin-top:0' }, 'Args'),
        h('pre', {}, JSON.stringify(st.payload.args, null, 2)),
        h('h3', {}, 'Result'),
        h('pre', {}, st.result === null ? '—' : JSON.stringify(st.result, null, 2)),
        h('h3', {}, 'Last error'),
        h('pre', { 'data-field': 'last_error' }, st.last_error ?? '—'),
      ),
    ),
    h('h3', {}, 'Lifecycle'),
    h(
      'div',
      { class: 'panel' },
      lifecycleDiagram(graph, d.path, st.status),
      h(
        'ul',
        { class: 'path', 'aria-label': 'Path through the lifecycle, attempt by attempt' },
        [...attempts].map(([a, steps]) =>
          h(
            'li',
            {},
            h('strong', {}, a === 0 ? 'Before the first claim: ' : `Attempt ${a}: `),
            steps.map((p, i) =>
              h(
                'span',
                { class: p.legal ? '' : 'illegal' },
                `${i ? ' → ' : ''}#${p.n} ${p.kind} (${p.from} → ${p.to})${p.legal ? '' : ' — refused by the lifecycle'}`,
              ),
            ),
          ),
        ),
      ),
    ),
    h('h3', {}, 'Audit trail'),
    h(
      'div',
      { class: 'panel' },
      table(
        [
          { label: '#', num: true },
          { label: 'time' },
          { label: 'event' },
          { label: 'attempt', num: true },
          { label: 'pod' },
          { label: 'detail', cls: 'hide-narrow' },
        ],
        (st.history ?? []).map((e, i) =>
          h(
            'tr',
            { 'data-event-kind': e.kind },
            cell(String(i + 1), 'num'),
            cell(when(e.ts)),
            cell(e.kind),
            cell(fmt(e.attempt), 'num'),
            cell(e.pod_id ? h('code', {}, e.pod_id) : '—'),
            cell(h('code', {}, JSON.stringify(e.detail)), 'hide-narrow'),
          ),
        ),
        'Audit trail',
      ),
    ),
  ];
}

async function dlqPage(params) {
  const offset = Number(params.get('offset') ?? 0);
  const page = await api(`/admin/dlq?limit=${PAGE_SIZE}&offset=${offset}`);
  const selected = dlqSelected;
  for (const id of [...selected]) if (!page.steps.some((st) => st.step_id === id)) selected.delete(id);
  const replaySelected = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      disabled: true,
      onclick: async () => {
        if (await confirmAction(`Replay ${selected.size} selected step(s)? They go back to pending with their retries reset.`, 'Replay')) {
          const ids = [...selected];
          selected.clear();
          await replay(ids);
          route();
        }
      },
    },
    'Replay selected',
  );
  const toggle = (id, on) => {
    if (id !== null) {
      if (on) selected.add(id);
      else selected.delete(id);
    }
    replaySelected.disabled = selected.size === 0;
    replaySelected.textContent = selected.size ? `Replay selected (${selected.size})` : 'Replay selected';
  };
  toggle(null, false);
  return [
    h('h2', {}, 'Dead-letter queue'),
    h('p', {}, `${fmt(page.total)} step(s) dead-lettered. `, replaySelected),
    h(
      'div',
      { class: 'panel' },
      table(
        [
          { label: 'select' },
          { label: 'step' },
          { label: 'type' },
          { label: 'retries', num: true },
          { label: 'last error' },
          { label: 'updated', cls: 'hide-narrow' },
          { label: 'action' },
        ],
        page.steps.map((st) =>
          h(
            'tr',
            { 'data-step': st.step_id },
            cell(
              h('input', {
                type: 'checkbox',
                checked: selected.has(st.step_id),
                'aria-label': `select ${st.step_id}`,
                onchange: (ev) => toggle(st.step_id, ev.target.checked),
              }),
            ),
            cell(h('a', { href: `#/step/${encodeURIComponent(st.step_id)}` }, h('code', {}, st.step_id))),
            cell(st.type),
            cell(fmt(st.retry_count), 'num'),
            cell(st.last_error ?? '—'),
            cell(when(st.last_update_ts), 'hide-narrow'),
            cell(
              h(
                'button',
                {
                  type: 'button',
                  onclick: async () => {
                    if (await confirmAction(`Replay ${st.step_id}? It goes back to pending with its retries reset.`, 'Replay')) {
                      await replay([st.step_id]);
                      route();
                    }
                  },
                },
                'Replay',
              ),
            ),
          ),
        ),
        'Dead-lettered steps',
      ),
    ),
    h(
      'div',
      { class: 'pager' },
      h(
        'button',
        {
          type: 'button',
          disabled: offset === 0,
          onclick: () => {
            location.hash = `#/dlq?offset=${Math.max(0, offset - PAGE_SIZE)}`;
          },
        },
        '← Previous',
      ),
      h(
        'button',
        {
          type: 'button',
          disabled: offset + page.steps.length >= page.total,
          onclick: () => {
            location.hash = `#/dlq?offset=${offset + PAGE_SIZE}`;
          },
        },
        'Next →',
      ),
    ),
  ];
}

// ---------- routing ----------
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '') || 'overview';
  const [path, query] = raw.split('?');
  const [name, ...rest] = path.split('/');
  return { name, arg: rest.length ? decodeURIComponent(rest.join('/')) : null, params: new URLSearchParams(query ?? '') };
}

const PAGES = {
  overview: { nav: 'overview', title: 'Overview', render: () => overviewPage(), live: true },
  pods: { nav: 'pods', title: 'Pods', render: () => podsPage(), live: true },
  steps: { nav: 'steps', title: 'Steps', render: ({ params }) => stepsPage(params), live: true },
  step: { nav: 'steps', title: 'Step', render: ({ arg }) => stepPage(arg), live: true },
  dlq: { nav: 'dlq', title: 'Dead letters', render: ({ params }) => dlqPage(params), live: true },
};

async function route(options = {}) {
  const where = parseHash();
  const page = PAGES[where.name] ?? PAGES.overview;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === page.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${page.title} · FLEET-Q`;
  const seq = ++renderSeq;
  try {
    const content = await page.render(where);
    if (seq !== renderSeq) return;
    // A refresh keeps what the user is typing or has ticked: only replace when nothing has focus inside.
    if (options.refresh && view.contains(document.activeElement) && document.activeElement !== view) return;
    view.replaceChildren(...content.filter((node) => node !== null));
    view.dataset.page = where.name;
    view.dataset.loaded = String(Date.now());
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    if (!options.refresh) {
      clearBanner();
      view.focus({ preventScroll: true });
    }
  } catch (err) {
    if (seq === renderSeq) reportError(err);
  }
  schedule(page);
}

function schedule(page) {
  clearTimeout(timer);
  if (page.live && live.checked)
    timer = setTimeout(() => {
      if (!document.hidden) route({ refresh: true });
      else schedule(page);
    }, REFRESH_MS);
}

live.addEventListener('change', () => route({ refresh: true }));
window.addEventListener('hashchange', () => route());
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) route({ refresh: true });
});
route();

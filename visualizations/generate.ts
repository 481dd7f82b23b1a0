/**
 * Generates the committed diagrams of every machine in machines/index.ts and of the example custom
 * lifecycles beside it: `<name>.mmd` (Mermaid
 * stateDiagram-v2) and `<name>.stately.json` (the machine's authoring config, which Stately's
 * "Import from code" takes inside `createMachine(...)`). It owns the rendering only; it must not
 * change a machine, and it writes files only when asked (`writeVisualizations`).
 *
 * Regenerate: `UPDATE_VISUALIZATIONS=1 npx vitest run test/unit/visualizations.test.ts`; without the
 * variable that test fails when a committed file differs from what the machines render now.
 * The JSON is `machine.config` (states, events, targets, delay/guard/action/actor names); inline
 * functions (context factories, input mappers, parameter mappers) are not data and are left out.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { machines } from '../machines/index.js';
import { paymentLifecycle } from './payment-lifecycle.js';

/** Example custom step lifecycles (payment-lifecycle.ts), drawn beside the runtime's machines. */
export const EXAMPLE_MACHINES: Readonly<Record<string, AnyStateMachine>> = {
  'example-payment-lifecycle': paymentLifecycle('correct') as unknown as AnyStateMachine,
};

/** Where the generated files live (this folder). */
export const VISUALIZATIONS_DIR = fileURLToPath(new URL('.', import.meta.url));

/** One transition of a machine, as drawn. */
export interface DrawnTransition {
  readonly from: AnyStateNode;
  /** Equal to `from` for a transition that only runs actions. */
  readonly to: AnyStateNode;
  readonly label: string;
  readonly targetless: boolean;
}

const childrenOf = (node: AnyStateNode): AnyStateNode[] => Object.values(node.states) as AnyStateNode[];
const mermaidId = (node: AnyStateNode): string => node.id.replace(/\W/g, '_');

/** The actor source invoked under `invokeId` by `node` or an ancestor. */
function sourceOf(node: AnyStateNode, invokeId: string): string {
  for (let n: AnyStateNode | undefined = node; n; n = n.parent) {
    const invoke = n.invoke.find((i) => i.id === invokeId);
    if (invoke) return typeof invoke.src === 'string' ? invoke.src : invokeId;
  }
  return invokeId;
}

function guardName(guard: unknown): string {
  if (!guard) return '';
  if (typeof guard === 'string') return ` [${guard}]`;
  if (typeof guard === 'object' && 'type' in guard) return ` [${String(guard.type)}]`;
  return ' [guarded]';
}

/** A readable label: `after <delay>`, `done <actor>`, `error <actor>`, `always`, or the event type. */
export function transitionLabel(node: AnyStateNode, eventType: string, guard: unknown): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  const event = after ? `after ${after[1]}` : actor ? `${actor[1]} ${sourceOf(node, actor[2] ?? '')}` : eventType || 'always';
  return event + guardName(guard);
}

/** Every transition of the machine, in document order. */
export function transitionsOf(machine: AnyStateMachine): DrawnTransition[] {
  const out: DrawnTransition[] = [];
  const visit = (node: AnyStateNode) => {
    const definitions = [...node.transitions.values()].flat().concat(node.always ?? []);
    for (const t of definitions) {
      const label = transitionLabel(node, t.eventType, t.guard);
      if (!t.target?.length) out.push({ from: node, to: node, label, targetless: true });
      for (const to of t.target ?? []) out.push({ from: node, to, label, targetless: false });
    }
    childrenOf(node).forEach(visit);
  };
  visit(machine.root);
  return out;
}

/** The machine as a Mermaid stateDiagram-v2. */
export function toMermaid(machine: AnyStateMachine): string {
  const lines = ['stateDiagram-v2', `  [*] --> ${mermaidId(machine.root)}`];
  const declare = (node: AnyStateNode, pad: string) => {
    lines.push(`${pad}state "${node.key}" as ${mermaidId(node)}`);
    const kids = childrenOf(node);
    if (!kids.length) return;
    lines.push(`${pad}state ${mermaidId(node)} {`);
    kids.forEach((kid, i) => {
      if (node.type === 'parallel' && i > 0) lines.push(`${pad}  --`);
      declare(kid, `${pad}  `);
    });
    if (node.type !== 'parallel') for (const initial of node.initial.target) lines.push(`${pad}  [*] --> ${mermaidId(initial)}`);
    for (const kid of kids) if (kid.type === 'final') lines.push(`${pad}  ${mermaidId(kid)} --> [*]`);
    lines.push(`${pad}}`);
  };
  declare(machine.root, '  ');

  // What a state invokes, and the events it handles without leaving, go in one note per state.
  const invokes = new Map<AnyStateNode, string[]>();
  const stays = new Map<AnyStateNode, string[]>();
  const add = (map: Map<AnyStateNode, string[]>, node: AnyStateNode, text: string) => map.set(node, [...(map.get(node) ?? []), text]);
  for (const node of [machine.root, ...allNodes(machine.root)]) {
    for (const invoke of node.invoke) add(invokes, node, typeof invoke.src === 'string' ? invoke.src : invoke.id);
  }
  for (const t of transitionsOf(machine)) {
    if (t.targetless) add(stays, t.from, t.label);
    else lines.push(`  ${mermaidId(t.from)} --> ${mermaidId(t.to)} : ${t.label}`);
  }
  for (const node of new Set([...invokes.keys(), ...stays.keys()])) {
    const texts = [
      ...chunks(invokes.get(node) ?? [], 3).map((c) => `invokes ${c.join(', ')}`),
      ...chunks(stays.get(node) ?? [], 3).map((c) => `stays on ${c.join(', ')}`),
    ];
    lines.push(`  note right of ${mermaidId(node)}`, ...texts.map((t) => `    ${t}`), '  end note');
  }
  return `${lines.join('\n')}\n`;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function allNodes(node: AnyStateNode): AnyStateNode[] {
  return childrenOf(node).flatMap((kid) => [kid, ...allNodes(kid)]);
}

/** The machine's authoring config as JSON: paste it into `createMachine(...)` in Stately's importer. */
export function toStatelyJson(machine: AnyStateMachine): string {
  return `${JSON.stringify(machine.config, null, 2)}\n`;
}

/** File name → content for every machine. */
export function renderVisualizations(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, machine] of Object.entries({ ...machines, ...EXAMPLE_MACHINES })) {
    files.set(`${name}.mmd`, toMermaid(machine));
    files.set(`${name}.stately.json`, toStatelyJson(machine));
  }
  return files;
}

/** Writes every rendered file into `dir`; returns the names written. */
export function writeVisualizations(dir: string = VISUALIZATIONS_DIR): string[] {
  const files = renderVisualizations();
  for (const [name, content] of files) writeFileSync(join(dir, name), content);
  return [...files.keys()];
}

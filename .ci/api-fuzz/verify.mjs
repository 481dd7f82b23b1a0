// After a schemathesis run against a pod on a fresh database: the database holds exactly the steps the
// accepted submissions created (recorded by hooks.py), each with the submitted type, and nothing else.
// Reads the database with the package's own createClient (built dist/), configured by the same
// FLEET_Q_* variables as the pod. Usage: node verify.mjs ACCEPTED_FILE. Exit 1 on a mismatch.
import { readFileSync } from 'node:fs';
import { createClient } from '../../dist/src/index.js';

const created = new Map(); // step id -> type
const duplicates = []; // [step id, type] answered 200 "duplicate"
for (const line of readFileSync(process.argv[2], 'utf8').split('\n')) {
  if (line === '') continue;
  const record = JSON.parse(line);
  if (record.path === '/submit') {
    if (record.status === 201) created.set(record.body.step_id, record.request.type);
    else duplicates.push([record.body.step_id, record.request.type]);
  } else {
    record.body.step_ids.forEach((id, i) => created.set(id, record.request.steps[i].type));
  }
}

const problems = [];
for (const [id, type] of duplicates) {
  if (created.get(id) !== type) problems.push(`a duplicate answer names ${id}, which no accepted submit of type ${type} created`);
}
const client = await createClient();
try {
  const queue = await client.queue();
  // Cancelling (POST /steps/:step_id/cancel) keeps a step: it counts too.
  const total = queue.pending_steps + queue.claimed_steps + queue.completed_steps + queue.failed_steps + queue.cancelled_steps;
  if (total !== created.size) problems.push(`the database holds ${total} steps; accepted requests created ${created.size}`);
  for (const [id, type] of created) {
    const step = await client.status(id);
    if (step.payload.type !== type) problems.push(`${id}: submitted as ${type}, stored as ${step.payload.type}`);
  }
  console.log(`api-fuzz verify: ${created.size} steps created by accepted requests (${duplicates.length} duplicate answers); the database holds ${total}`);
} catch (err) {
  problems.push(String(err));
} finally {
  await client.close();
}
for (const problem of problems.slice(0, 20)) console.log(`  ${problem}`);
process.exit(problems.length > 0 ? 1 : 0);

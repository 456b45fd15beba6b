import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { WriterGate } from './writer-gate.js';

test('a batch waits while a checkpoint holds the gate, and starts once the checkpoint lets go', async () => {
  const gate = new WriterGate();
  const checkpoint = gate.holdForCheckpoint(0);
  assert.notEqual(checkpoint, null, 'a free gate is taken at once');
  let started = false;
  const batch = gate.holdForBatch().then((release) => {
    started = true;
    return release;
  });
  for (let i = 0; i < 5; i++) await nextTurn();
  assert.equal(started, false, 'no batch while the checkpoint holds the writer');
  checkpoint!();
  const release = await batch;
  assert.equal(started, true);
  release();
});

test('a checkpoint does not start while a batch holds the gate, and starts after it', async () => {
  const gate = new WriterGate();
  const release = await gate.holdForBatch();
  assert.equal(gate.holdForCheckpoint(0), null, 'the checkpoint is left for its next turn');
  release();
  const checkpoint = gate.holdForCheckpoint(0);
  assert.notEqual(checkpoint, null);
  checkpoint!();
});

test('the gate is shared through its cell, as the checkpointer thread gets it', async () => {
  const master = new WriterGate();
  const thread = new WriterGate(master.cell);
  const release = await master.holdForBatch();
  assert.equal(thread.holdForCheckpoint(0), null);
  release();
  assert.notEqual(thread.holdForCheckpoint(0), null);
});

test('a second release by the same holder does not free the gate someone else took since', async () => {
  const gate = new WriterGate();
  const first = await gate.holdForBatch();
  first();
  const checkpoint = gate.holdForCheckpoint(0);
  assert.notEqual(checkpoint, null);
  first();
  assert.equal(gate.holdForCheckpoint(0), null, 'still the checkpoint’s');
  checkpoint!();
});

test('a checkpoint that never lets go is passed over once the batch has waited its longest', async () => {
  const gate = new WriterGate();
  assert.notEqual(gate.holdForCheckpoint(0), null);
  const release = await gate.holdForBatch(10);
  release(); // holds nothing: the checkpoint's hold is not undone by it
  assert.equal(gate.holdForCheckpoint(0), null);
});

test('opening the gate (the checkpointer stopping) lets a waiting batch through', async () => {
  const gate = new WriterGate();
  assert.notEqual(gate.holdForCheckpoint(0), null);
  const batch = gate.holdForBatch();
  gate.open();
  const release = await batch;
  assert.equal(gate.holdForCheckpoint(0), null, 'the batch holds it now');
  release();
});

import { describe, expect, it } from 'vitest';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { describeArchiveConformance, makeTurn, turnRecord } from './conformance.js';
import { describeFileArchiveConformance } from './files-conformance.js';

describeArchiveConformance('InMemoryArchiveStore', async () => new InMemoryArchiveStore());
describeFileArchiveConformance('InMemoryArchiveStore', async () => new InMemoryArchiveStore());

describe('InMemoryArchiveStore', () => {
  it('never shares objects with its callers', async () => {
    const store = new InMemoryArchiveStore();
    const rec = turnRecord('s1', makeTurn(1, 0, { answer: { size: 'small' } }));
    await store.recordTurn(rec);
    (rec.turn.answer as { size: string }).size = 'mutated';
    const [first] = (await store.getTurns('s1')).turns;
    expect(first?.answer).toEqual({ size: 'small' });
    (first!.events[0] as { messageId: string }).messageId = 'mutated';
    const [again] = (await store.getTurns('s1')).turns;
    expect(again?.events[0]).toMatchObject({ messageId: 'm1' });
  });
});

/** Assertion helpers for failures. */
import { ApplicationFailure } from '@temporalio/common';
import { expect } from 'vitest';

/** Runs `fn` and returns the ApplicationFailure it throws (fails the test if it resolves or throws something else). */
export async function failureOf(fn: () => Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected a failure');
}

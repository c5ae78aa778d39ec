/**
 * 'vitest' in the browser bundle (test/browser/run.mjs aliases the bare import here): the real
 * runner (@vitest/runner: describe/test/hooks with vitest's own semantics, describe.each,
 * skipIf, ctx.skip, timeouts) and the real matchers (@vitest/expect on chai), wired up the way
 * vitest does it, without vitest's Node-side machinery. Only what the GPU suites import.
 */
import * as chai from 'chai';
import {
  ASYMMETRIC_MATCHERS_OBJECT,
  GLOBAL_EXPECT,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  getState,
  setState,
} from '@vitest/expect';
import { getCurrentTest } from '@vitest/runner';

export {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  it,
  onTestFailed,
  onTestFinished,
  suite,
  test,
} from '@vitest/runner';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

type AnyExpect = ((value: unknown, message?: string) => Chai.Assertion) & Record<string, unknown>;

function createExpect(): AnyExpect {
  const expect = ((value: unknown, message?: string) => {
    const { assertionCalls } = getState(expect as never) as { assertionCalls: number };
    setState({ assertionCalls: assertionCalls + 1 }, expect as never);
    const assertion = chai.expect(value, message) as Chai.Assertion & { withTest(t: unknown): Chai.Assertion };
    const current = getCurrentTest();
    return current ? assertion.withTest(current) : assertion;
  }) as AnyExpect;
  Object.assign(expect, chai.expect);
  Object.assign(expect, (globalThis as Record<symbol, unknown>)[ASYMMETRIC_MATCHERS_OBJECT as symbol]);
  expect.getState = () => getState(expect as never);
  expect.setState = (state: object) => setState(state as never, expect as never);
  setState(
    {
      assertionCalls: 0,
      isExpectingAssertions: false,
      isExpectingAssertionsError: null,
      expectedAssertionsNumber: null,
      expectedAssertionsNumberErrorGen: null,
    } as never,
    expect as never,
  );
  expect.extend = (matchers: unknown) => (chai.expect as unknown as { extend(e: unknown, m: unknown): void }).extend(expect, matchers);
  expect.unreachable = (message?: string) => chai.assert.fail(`expected${message ? ` "${message}" ` : ' '}not to be reached`);
  return expect;
}

export const expect = createExpect() as unknown as typeof import('vitest').expect;
(globalThis as Record<symbol, unknown>)[GLOBAL_EXPECT as symbol] = expect;

/**
 * Ends the run with the tests that were skipped because a system program is missing (test/system.ts),
 * grouped by program with the command that installs it, so a skip is never mistaken for a pass.
 */
import type { Reporter, TestModule } from 'vitest/node';
import { MISSING_PREFIX } from '../system.ts';

export default class SystemReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const byNeed = new Map<string, string[]>();
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const r = test.result();
        if (r.state !== 'skipped' || !r.note?.startsWith(MISSING_PREFIX)) continue;
        const need = r.note.slice(MISSING_PREFIX.length);
        byNeed.set(need, [...(byNeed.get(need) ?? []), `${mod.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName}`]);
      }
    }
    if (byNeed.size === 0) return;
    const total = [...byNeed.values()].reduce((s, l) => s + l.length, 0);
    const lines = [`\nNOT RUN — ${total} test(s) skipped because a system program is missing (install it and run again):`];
    for (const [need, tests] of byNeed) lines.push(`  ${need}`, ...tests.map((t) => `    - ${t}`));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}

/**
 * A command started by a test, its output collected as it comes, with a way to wait for a
 * condition on it (the CLI batch tests: results printed before the batch ends, Ctrl-C
 * in the middle of one).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

/** A running command whose output is collected as it comes. */
export class Running {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<() => void> = [];

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      this.poke();
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      this.poke();
    });
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves once `condition` holds on the output so far (or fails if the command ends first). */
  async until(condition: (running: Running) => boolean): Promise<void> {
    while (!condition(this)) {
      if (this.child.exitCode !== null) throw new Error(`the command ended first:\n${this.stderr}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private poke() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

/** Starts `node <script> ...args` with piped standard streams (and `env` added to the environment). */
export function startNode(script: string, args: readonly string[], env: Record<string, string> = {}): Running {
  return new Running(spawn(process.execPath, [script, ...args], { stdio: 'pipe', env: { ...process.env, ...env } }));
}

#!/usr/bin/env node
// The `cdk8s-autoscaling` command shipped in the package.
import { safeSynth } from './safe-synth';

const USAGE = `usage: cdk8s-autoscaling synth [--output DIR]
  synth   render the cdk8s app of ./cdk8s.yaml into a scratch folder, then replace
          the output folder (default: cdk8s.yaml's "output", else dist/) only if the
          whole render succeeded; problems are printed as plain lines`;

/** Runs the command line `argv` (without node and the script); returns the exit code. */
export function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === 'synth') {
    const at = rest.indexOf('--output');
    if (rest.some((a, i) => a !== '--output' && i !== at + 1) || (at >= 0 && !rest[at + 1])) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    return safeSynth({ output: at >= 0 ? rest[at + 1] : undefined });
  }
  process.stderr.write(`${command && command !== '--help' ? `unknown command "${command}"\n` : ''}${USAGE}\n`);
  return command === '--help' ? 0 : 2;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}

// `veer validate [-c file]`: every problem `veer start` would refuse, and every warning, in one pass;
// exit 2 when there is any problem (warnings alone exit 0).
import { EXIT, type Command } from '../command.js';
import { configOptionProblem, loadConfigOrReport } from '../config-path.js';

export const validateCommand: Command = {
  name: 'validate',
  synopsis: 'validate [-c file]',
  summary: 'check a config file and list every problem in it',
  options: ['config'],
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const problem = configOptionProblem(args.values);
    if (problem !== null) {
      io.err(`error: ${problem}`);
      return EXIT.usage;
    }
    const loaded = await loadConfigOrReport(args.values, io);
    if (loaded === null) return EXIT.config;
    const n = loaded.warnings.length;
    io.out(`ok: ${loaded.config.services.length} services${n > 0 ? ` (${n} warning${n === 1 ? '' : 's'})` : ''}`);
    return EXIT.ok;
  },
};

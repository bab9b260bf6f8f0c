// `npm run token -- …`: mint relay tokens and keys from the command line (see TOKEN_CLI_USAGE).
import { TOKEN_CLI_USAGE, tokenCommand } from './lib/token-cli';

tokenCommand(process.argv.slice(2), process.env).then(
  (output) => process.stdout.write(`${output}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    if (!(error instanceof Error) || !error.message.includes('usage:')) process.stderr.write(`${TOKEN_CLI_USAGE}\n`);
    process.exit(1);
  },
);

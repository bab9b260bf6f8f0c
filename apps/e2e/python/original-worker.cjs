// The sandbox entry point for tests that run an original-style (OmoiOS) worker on the local provider,
// which starts its worker script with node: it runs original_worker.py serve with the python named by
// ORIGINAL_WORKER_PYTHON, passes SIGTERM on, and exits as the python does.
const { spawn } = require('node:child_process');
const path = require('node:path');

const child = spawn(process.env.ORIGINAL_WORKER_PYTHON, [path.join(__dirname, 'original_worker.py'), 'serve'], {
  stdio: 'inherit',
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

// Jest global setup: one line when promtool is missing, so a skipped PromQL check is never silent.
const { spawnSync } = require('child_process');

module.exports = async () => {
  if (spawnSync('promtool', ['--version']).error === undefined) return;
  if (process.env.REQUIRE_PROMTOOL === '1') {
    process.stdout.write('\npromtool is not installed but REQUIRE_PROMTOOL=1: the tests that need it will fail (apt-get install -y prometheus)\n');
  } else {
    process.stdout.write('\npromtool not found: the tests that run it are skipped; install the Debian package "prometheus" (apt-get install -y '
      + 'prometheus) to run them\n');
  }
};

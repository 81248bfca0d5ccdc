#!/usr/bin/env bash
# The package installs from source: `npm install <git url>` (npm clones the
# repository, installs its devDependencies, runs `prepare`, which builds lib/)
# and `npm install <path>` (npm links the folder and runs `prepare` in it).
# Each scratch app then synthesizes a chart through the installed package.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version_of() { node -p "require('$root/node_modules/$1/package.json').version"; }
peers=("cdk8s@$(version_of cdk8s)" "cdk8s-plus-27@$(version_of cdk8s-plus-27)" "constructs@$(version_of constructs)")

try_install() {
  local name="$1" spec="$2"
  mkdir -p "$work/$name" && cd "$work/$name"
  echo "{ \"name\": \"$name\", \"version\": \"0.0.0\", \"private\": true }" > package.json
  npm install --prefer-offline --no-audit --no-fund --loglevel=error "$spec" "${peers[@]}" >/dev/null
  test -f node_modules/cdk8s-autoscaling/lib/index.js || { echo "from-source: $spec installed no lib/" >&2; exit 1; }
  node -e "
    const { App, Chart } = require('cdk8s');
    const { MetricsServer } = require('cdk8s-autoscaling');
    const app = new App({ outdir: 'out' });
    new MetricsServer(new Chart(app, 'c'), 'ms');
    app.synth();
    if (!require('fs').readFileSync('out/c.k8s.yaml', 'utf8').includes('kind: APIService')) process.exit(1);
  "
  echo "from-source: npm install $spec built lib/ and synthesized"
}

try_install from-git "git+file://$root#$(git -C "$root" rev-parse HEAD)"
try_install from-path "$root"

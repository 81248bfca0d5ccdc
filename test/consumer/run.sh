#!/usr/bin/env bash
# Installs the packed library into a scratch cdk8s app (its peers at the versions
# the project is locked to, from npm's cache when it has them, else the registry:
# `npm ci` fills the cache with tarballs but not with the metadata an offline
# install needs), compiles a chart written only against the public API with tsc,
# and synthesizes it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$root"
# lib/ as it is when fresh (built by `npm ci`'s prepare in CI), else built now; the pack itself runs no script.
node scripts/build.js --if-stale
tarball="$(npm pack --silent --ignore-scripts --pack-destination "$work" | tail -n 1)"

version_of() { node -p "require('$root/node_modules/$1/package.json').version"; }
mkdir -p "$work/app"
cp "$root/test/consumer/chart.ts" "$work/app/main.ts"
cp "$root/test/consumer/plus-types.ts" "$work/app/plus-types.ts"
cd "$work/app"
cat > package.json <<JSON
{ "name": "consumer-app", "version": "0.0.0", "private": true }
JSON
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2020", "module": "commonjs", "strict": true, "skipLibCheck": false,
  "esModuleInterop": true, "types": [] }, "files": ["main.ts", "plus-types.ts", "readme.ts"] }
JSON
npm install --prefer-offline --no-audit --no-fund --ignore-scripts \
  "$work/$tarball" \
  "cdk8s@$(version_of cdk8s)" "cdk8s-plus-27@$(version_of cdk8s-plus-27)" \
  "constructs@$(version_of constructs)" "typescript@$(version_of typescript)" >/dev/null

# The package must ship only lib/, README, LICENSE, and the docs and plots the README links to.
(cd node_modules/cdk8s-autoscaling && find . -type f | sort) > files.txt
if grep -vE '^\./(lib/.+\.(js|d\.ts)|README\.md|CONTRIBUTING\.md|LICENSE|package\.json|docs/[a-z0-9-]+\.(md|svg))$' files.txt; then
  echo "consumer: the package ships unexpected files (above)" >&2; exit 1
fi
for link in $(grep -oE '\]\([^)#:]+\.(md|svg)' node_modules/cdk8s-autoscaling/README.md | sed 's/^](//' | sort -u); do
  test -f "node_modules/cdk8s-autoscaling/$link" || { echo "consumer: the README links $link, which the package lacks" >&2; exit 1; }
done

# The README's first app, as written there, compiled and rendered with the package's safe synth.
awk '/^## Your first app/{found=1} found && /^```ts$/{code=1; next} code && /^```$/{exit} code' "$root/README.md" > readme.ts
test -s readme.ts || { echo "consumer: no app found under the README's 'Your first app'" >&2; exit 1; }

npx tsc -p tsconfig.json
# The index is the only entry: it loads every module, so every app-wide check is registered for any app that uses the package.
if node -e "require('cdk8s-autoscaling/lib/metrics/metrics-server')" 2>/dev/null; then
  echo "consumer: a deep import of lib/ resolved; the package must export its index only" >&2; exit 1
fi
node main.js
for kind in Deployment HorizontalPodAutoscaler APIService ResourceQuota PriorityClass; do
  grep -q "^kind: $kind$" dist/consumer.k8s.yaml || { echo "consumer: no $kind in the output" >&2; exit 1; }
done
echo "consumer app: compiled against the packed library and synthesized $(grep -c '^kind:' dist/consumer.k8s.yaml) objects"
node plus-types.js
grep -q '^kind: HorizontalPodAutoscaler$' dist/plus.k8s.yaml || { echo "consumer: the cdk8s-plus-typed app rendered no HPA" >&2; exit 1; }
echo "cdk8s-plus-typed app: amounts, containers and durations in cdk8s-plus types, compiled and synthesized"

printf 'language: typescript\napp: node readme.js\noutput: readme-dist\n' > cdk8s.yaml
CDK8S_CHECK_UPGRADE=false npx cdk8s-autoscaling synth
grep -q '^kind: HorizontalPodAutoscaler$' readme-dist/shop.k8s.yaml || { echo "consumer: the README's app rendered no HPA" >&2; exit 1; }
echo "README app: compiled against the packed library and rendered by cdk8s-autoscaling synth"

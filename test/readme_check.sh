#!/usr/bin/env bash
# README examples are real output: every code block in README.md preceded by a line
#   <!-- output: expected/NAME.out -->
# must appear, line for line, in that regression test's expected output (which pg_regress
# checks against the current code). Prompts "=# " and "-# " of README lines are dropped before
# comparing; trailing blanks are ignored. Prints one line per checked block and exits non-zero
# if one does not match. Usage: test/readme_check.sh [README.md]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - "${1:-README.md}" <<'PY'
import re, sys

readme = open(sys.argv[1], encoding='utf-8').read().split('\n')
failures = checked = 0
i = 0
while i < len(readme):
    m = re.match(r'\s*<!-- output: (\S+) -->\s*$', readme[i])
    if not m:
        i += 1
        continue
    source, start = m.group(1), i + 1
    while start < len(readme) and not readme[start].startswith('```'):
        start += 1
    end = start + 1
    while end < len(readme) and not readme[end].startswith('```'):
        end += 1
    block = [re.sub(r'^[=-]# ', '', l).rstrip() for l in readme[start + 1:end]]
    expected = [l.rstrip() for l in open(source, encoding='utf-8').read().split('\n')]
    n = len(block)
    # The block must be the whole of that output: the line after it in the expected file is
    # not more of the same message (a HINT, QUERY or CONTEXT the README left out).
    more = re.compile(r'^(DETAIL|HINT|QUERY|CONTEXT|LOCATION):  |^LINE \d+: ')
    found = n > 0 and any(expected[k:k + n] == block and not (k + n < len(expected) and more.match(expected[k + n]))
                          for k in range(len(expected) - n + 1))
    checked += 1
    if found:
        print(f'ok - README.md line {start + 1}: {n} lines found in {source}')
    else:
        failures += 1
        print(f'not ok - README.md line {start + 1}: block not found in {source}:')
        print('\n'.join('    ' + l for l in block))
    i = end + 1
print(f'{checked - failures} of {checked} README examples match the regression output')
sys.exit(1 if failures or checked == 0 else 0)
PY

"""inline::code-scanner: CodeShield's rules (regex + semgrep) on realistic insecure and safe code."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("codeshield", reason="needs llama-workbench[safety]")

from llama_workbench.apis.inference.models import AssistantMessage, Message, UserMessage
from llama_workbench.apis.safety.models import ModerationResult, ViolationLevel
from llama_workbench.apis.shields.models import Shield
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import BadRequestError, MissingDependencyError, ProviderError
from llama_workbench.providers.inline.safety.code_scanner import create, rules, scanner
from llama_workbench.providers.inline.safety.code_scanner.config import CodeScannerConfig
from llama_workbench.providers.inline.safety.code_scanner.extract import extract, looks_like_code

SHIELD = Shield(identifier="code", provider_id="code-scanner", provider_resource_id="code")


def fenced(language: str, code: str) -> str:
    return f"Here is the code:\n\n```{language}\n{code}```\n\nLet me know if it helps."


def cases(source: str) -> list[tuple[list[str], str]]:
    """`@@ <header words>` lines, each followed by its code (or, with fence `-`, a message)."""
    found = []
    for chunk in re.split(r"^@@ ", source, flags=re.MULTILINE)[1:]:
        header, _, body = chunk.partition("\n")
        words = header.split(" | ")[0].split() + header.split(" | ")[1:]
        found.append((words, body.rstrip("\n") + "\n"))
    return found


def message(fence: str, body: str) -> str:
    return body if fence == "-" else fenced(fence, body)


INSECURE = cases(
    r"""
@@ py-eval-input python insecure-eval-use 2
expr = input('> ')
result = eval(expr)
print(result)
@@ py-pickle-untrusted python unsafe-pickle-use 4
import pickle

def load_session(request):
    return pickle.loads(request.body)
@@ py-subprocess-shell python insecure-subprocess-using-shell 4
import subprocess

filename = input('File: ')
subprocess.run(f'cat {filename}', shell=True, check=True)
@@ py-yaml-unsafe-loader python unsafe-yaml-use 4
import yaml

with open('config.yml') as f:
    config = yaml.load(f, Loader=yaml.Loader)
@@ py-md5-password python insecure-md5-hash-usage 4
import hashlib

def hash_password(password: str) -> str:
    return hashlib.md5(password.encode()).hexdigest()
@@ py-sha1-token python insecure-sha1-hash-usage 3
import hashlib

token = hashlib.sha1(secret.encode()).hexdigest()
@@ py-sql-format python cursor-execute-sqli 6
import sqlite3

conn = sqlite3.connect('app.db')
cursor = conn.cursor()
name = request.args['name']
cursor.execute("SELECT * FROM users WHERE name = '%s'" % name)
@@ py-sql-fstring python cursor-execute-sqli 2
def find_user(cursor, user_id):
    cursor.execute(f'SELECT * FROM users WHERE id = {user_id}')
    return cursor.fetchone()
@@ py-os-system python insecure-os-system-use 4
import os

host = input('Host to ping: ')
os.system('ping -c 1 ' + host)
@@ py-os-popen python insecure-os-popen-use 4
import os

def disk_usage(path):
    return os.popen('du -sh ' + path).read()
@@ py-exec python insecure-exec-use 2
code = request.form['snippet']
exec(code)
@@ py-github-token python ALL-R-010 3
import requests

headers = {'Authorization': 'token ghp_16C7e42F292c6912E7710c838347Ae178B4a'}
requests.get('https://api.github.com/user', headers=headers, timeout=10)
@@ js-eval javascript eval-with-expression 2
const params = new URLSearchParams(window.location.search);
const value = eval(params.get('expr'));
console.log(value);
@@ js-child-process javascript child-process 4
const cp = require('child_process');

app.get('/ls', (req, res) => {
  cp.exec('ls ' + req.query.dir, (err, out) => res.send(out));
});
@@ js-new-buffer javascript detect-new-buffer 2
function pad(size) {
  return new Buffer(size);
}
@@ js-http-fetch javascript unencrypted-fetch 2
async function getUser(id) {
  const res = await fetch('http://api.example.com/users');
  return res.json();
}
@@ jsx-dangerous-html jsx dangerously-set-inner-html 2
function Comment({ body }) {
  return <div dangerouslySetInnerHTML={{ __html: body }} />;
}
@@ js-regexp-injection javascript dos-non-literal-regexp 2
function search(items, term) {
  const re = new RegExp(term);
  return items.filter((x) => re.test(x));
}
@@ c-strcpy c vulnerable-strcpy 5
#include <string.h>

void greet(const char *name) {
    char buf[16];
    strcpy(buf, name);
}
@@ c-gets c bugprone-gets 5
#include <stdio.h>

int main(void) {
    char line[80];
    gets(line);
    printf("%s\n", line);
    return 0;
}
@@ c-sprintf c vulnerable-sprintf 5
#include <stdio.h>

void log_user(const char *user) {
    char msg[32];
    sprintf(msg, "user=%s", user);
}
@@ c-system c potential-command-injection 7
#include <stdlib.h>
#include <stdio.h>

int main(int argc, char **argv) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ping %s", argv[1]);
    system(cmd);
    return 0;
}
@@ c-scanf c bugprone-scanf 5
#include <stdio.h>

int main(void) {
    char name[20];
    scanf("%s", name);
    return 0;
}
@@ java-md5 java weak-md5-hashing 5
import java.security.MessageDigest;

public class Hasher {
    public static byte[] hash(String password) throws Exception {
        MessageDigest md = MessageDigest.getInstance("MD5");
        return md.digest(password.getBytes());
    }
}
@@ java-ecb java deprecated-ecb-usage 5
import javax.crypto.Cipher;

public class Crypto {
    public static Cipher cipher() throws Exception {
        return Cipher.getInstance("AES/ECB/PKCS5Padding");
    }
}
@@ java-deserialize java deserialization_insecure_untrusted_data 5
import java.io.*;

public class Loader {
    public Object load(InputStream in) throws Exception {
        ObjectInputStream ois = new ObjectInputStream(in);
        return ois.readObject();
    }
}
@@ php-shell-exec php unsafe-exec 3
<?php
$dir = $_GET['dir'];
$output = shell_exec('ls -la ' . $dir);
echo $output;
@@ php-eval php insecure-eval-use 3
<?php
$code = $_POST['code'];
eval($code);
@@ php-unserialize php untrusted-data-deserialization 2
<?php
$prefs = unserialize($_COOKIE['prefs']);
echo $prefs['theme'];
@@ csharp-md5 csharp crypto-weak-hashing-function 5
using System.Security.Cryptography;

public static class Hasher {
    public static byte[] Hash(byte[] data) {
        var md5 = new MD5CryptoServiceProvider();
        return md5.ComputeHash(data);
    }
}
@@ ts-eval typescript eval-with-expression 2
function calc(expr: string): number {
  return eval(expr) as number;
}
@@ c-strcat c bugprone-strcat 4
#include <string.h>

void join(char *dst, const char *src) {
    strcat(dst, src);
}
@@ php-md5-password php unsafe-hash-use 2
<?php
$hash = md5($_POST['password']);
@@ py-private-key python ALL-R-009 1
KEY = '''-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEA7bq0dGVzdGtleXRlc3RrZXl0ZXN0a2V5dGVzdGtleXRlc3Rr
-----END RSA PRIVATE KEY-----'''
"""
)
MISSED = cases(
    r"""
@@ py-yaml-load-default-loader python | the unsafe-yaml-use prescan needs a Loader= argument
import yaml

with open('config.yml') as f:
    config = yaml.load(f)
@@ py-requests-verify-false python | no rule for disabled TLS verification in Python
import requests

resp = requests.get('https://internal.example.com', verify=False)
@@ py-aws-key python | no AWS key pattern among CodeShield's secret rules
import boto3

s3 = boto3.client('s3', aws_access_key_id='AKIAIOSFODNN7EXAMPLE',
    aws_secret_access_key='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')
@@ py-mktemp python | no rule for tempfile.mktemp
import tempfile

path = tempfile.mktemp()
with open(path, 'w') as f:
    f.write(data)
@@ js-innerhtml-location javascript | no DOM XSS rule, only React's dangerouslySetInnerHTML
const name = decodeURIComponent(location.hash.slice(1));
document.getElementById('greeting').innerHTML = 'Hello ' + name;
@@ js-destructured-exec javascript | child-process wants `cp.exec(...)`, not a destructured exec
const { exec } = require('child_process');
exec(`ls ${req.query.dir}`);
@@ java-runtime-exec java | command injection in Java is only in the cyberseceval rule set
public class Run {
    public static void main(String[] args) throws Exception {
        Runtime.getRuntime().exec("sh -c " + args[0]);
    }
}
"""
)
SAFE = cases(
    r"""
@@ py-literal-eval python
import ast

value = ast.literal_eval(input())
@@ py-json-loads python
import json

def load(body):
    return json.loads(body)
@@ py-subprocess-list python
import subprocess

subprocess.run(['ls', '-l', path], check=True)
@@ py-yaml-safe-load python
import yaml

with open('c.yml') as f:
    cfg = yaml.safe_load(f)
@@ py-sha256-checksum python
import hashlib

def checksum(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()
@@ py-sql-params python
def find_user(cursor, name):
    cursor.execute('SELECT * FROM users WHERE name = ?', (name,))
    return cursor.fetchone()
@@ py-requests-timeout python
import requests

r = requests.get(url, timeout=10)
r.raise_for_status()
@@ py-env-secret python
import os

aws_key = os.environ['AWS_ACCESS_KEY_ID']
@@ py-named-tempfile python
import tempfile

with tempfile.NamedTemporaryFile('w') as f:
    f.write(data)
@@ py-md5-in-comment python
# never use hashlib.md5( for passwords
import bcrypt
@@ py-pickle-dumps python
import pickle

blob = pickle.dumps({'a': 1})
@@ js-json-parse javascript
const data = JSON.parse(body);
console.log(data.name);
@@ js-text-content javascript
const name = location.hash.slice(1);
el.textContent = 'Hello ' + name;
@@ js-https-fetch javascript
const res = await fetch('https://api.example.com/users');
@@ js-buffer-alloc javascript
const buf = Buffer.alloc(16);
@@ c-strncpy-fgets c
#include <stdio.h>
#include <string.h>

int main(void) {
    char buf[64];
    if (fgets(buf, sizeof buf, stdin) == NULL) return 1;
    printf("%s", buf);
    return 0;
}
@@ java-sha256 java
import java.security.MessageDigest;

public class Hasher {
    public static byte[] hash(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }
}
@@ java-process-builder java
Process p = new ProcessBuilder("ls", "-l").start();
p.waitFor();
@@ php-password-hash php
<?php
$hash = password_hash($_POST['password'], PASSWORD_DEFAULT);
@@ php-htmlspecialchars php
<?php
echo htmlspecialchars($_GET['name'], ENT_QUOTES);
@@ prose -
To store passwords safely, hash them with a slow, salted algorithm such as Argon2 or
bcrypt, and never log them. Rotate keys regularly.
@@ prose-with-inline-code -
Never call `eval()` on user input; use `ast.literal_eval()` for literals and
`json.loads()` for JSON. Likewise avoid `pickle.loads` on data you did not write.
@@ non-code-fences -
The job printed:

```text
result = eval(input())
os.system('rm -rf /tmp/x')
```

and its config is:

```json
{"cmd": "exec(payload)"}
```
@@ markdown-list -
Steps:

1. Open the settings.
2. Choose *Security*.
3. Turn on two-factor authentication.

| key | value |
|---|---|
| region | eu-west-1 |
@@ ts-json typescript
const user: User = JSON.parse(body) as User;
@@ cpp-vector cpp
#include <vector>
#include <string>

std::vector<std::string> split(const std::string &s) {
    return {s};
}
"""
)


async def new_scanner(tmp_path: Path = Path("."), **config: Any) -> Any:
    deps = ProviderDeps("code-scanner", {}, None, tmp_path)  # type: ignore[arg-type]
    return await create(CodeScannerConfig(**config), deps)


@pytest.fixture(scope="module")
def batch() -> dict[str, ModerationResult]:
    """Every example scanned in one call (so one semgrep process), by case id."""
    examples = [(w[0], message(w[1], body)) for w, body in INSECURE + MISSED + SAFE]

    async def run() -> list[ModerationResult]:
        impl = await new_scanner()
        return list(await impl.run_moderation(SHIELD, [text for _, text in examples]))

    return dict(zip([case for case, _ in examples], asyncio.run(run()), strict=True))


def _rules(result: ModerationResult) -> list[tuple[str, int]]:
    return [(f["rule"], f["line"]) for f in result.metadata["findings"]]


@pytest.mark.parametrize(("case", "rule", "line"), [(w[0], w[2], int(w[3])) for w, _ in INSECURE])
def test_insecure_code_is_flagged(
    batch: dict[str, ModerationResult], case: str, rule: str, line: int
) -> None:
    result = batch[case]
    assert result.flagged, case
    assert (rule, line) in _rules(result)
    assert result.categories["code/insecure"] and result.category_scores["code/insecure"] == 1.0
    assert result.user_message and result.user_message.startswith("Insecure code: ")


@pytest.mark.parametrize(
    "case",
    [pytest.param(w[0], marks=pytest.mark.xfail(strict=True, reason=w[2])) for w, _ in MISSED],
)
def test_known_misses(batch: dict[str, ModerationResult], case: str) -> None:
    assert batch[case].flagged


@pytest.mark.parametrize("case", [w[0] for w, _ in SAFE])
def test_safe_code_passes(batch: dict[str, ModerationResult], case: str) -> None:
    result = batch[case]
    assert not result.flagged, _rules(result)
    assert not any(result.categories.values())
    assert result.user_message is None


def test_enough_examples() -> None:
    assert len(INSECURE) >= 20 and len(SAFE) >= 20


CONVERSATION: list[Message] = [
    UserMessage(role="user", content="Write a loader for the session cookie."),
    AssistantMessage(
        role="assistant",
        content="Sure:\n\n```text\nnot code\n```\n\n```python\nimport pickle\n\n"
        "def load(cookie):\n    return pickle.loads(cookie)\n```\n\nand in C:\n\n"
        "```c\nvoid f(char *s) {\n    char buf[8];\n    strcpy(buf, s);\n}\n```\n",
    ),
]


async def test_run_shield_reports_the_rule_and_where_it_fired(tmp_path: Path) -> None:
    impl = await new_scanner(tmp_path)
    violation = (await impl.run_shield(SHIELD, CONVERSATION, {})).violation
    assert violation.violation_level == ViolationLevel.error
    assert violation.user_message == (
        "Insecure code: unsafe-pickle-use (line 4), vulnerable-strcpy (line 3)"
    )
    assert violation.metadata["violation_type"] == "unsafe-pickle-use,vulnerable-strcpy"
    pickle_hit, strcpy_hit = violation.metadata["findings"]
    assert pickle_hit == {
        "rule": "unsafe-pickle-use",
        "description": "Potential deserialization risk due to pickle usage.",
        "severity": "warning",
        "language": "python",
        "line": 4,
        "message_line": 11,
        "block": 1,
        "message_index": 1,
        "analyzer": "semgrep",
        "cwe": "CWE-502",
    }
    assert (strcpy_hit["language"], strcpy_hit["block"], strcpy_hit["line"]) == ("c", 2, 3)


async def test_languages_from_fences_guesses_and_unfenced_code(tmp_path: Path) -> None:
    unlabelled = "```\nimport os\nhost = input()\nos.system('ping ' + host)\n```"
    unfenced = "const cp = require('child_process');\ncp.exec('ls ' + req.query.dir);\n"
    impl = await new_scanner(tmp_path)
    for text, language in ((unlabelled, "python"), (unfenced, "javascript")):
        found = await impl.run_shield(SHIELD, [UserMessage(role="user", content=text)], {})
        assert found.violation.metadata["findings"][0]["language"] == language
    strict = await new_scanner(tmp_path, scan_unfenced=False)
    assert (
        await strict.run_shield(SHIELD, [UserMessage(role="user", content=unfenced)], {})
    ).violation is None
    assert looks_like_code("Use eval() rarely. It runs code.") is None
    assert looks_like_code("x = 1\nprint(x)\nimport os\n") == "python"


def test_fences_the_way_commonmark_reads_them() -> None:
    text = (
        '1. First:\n\n   ```py title="a.py"\n   eval(x)\n   ```\n\n'
        "~~~php\n<?php echo 1;\n~~~\n\n````javascript\nconst a = '```';\n````\n\n"
        "```bash\nrm -rf /\n```\n\n```python\nunclosed = eval(y)\n"
    )
    blocks = extract([(3, text)])
    assert [(b.language, b.block, b.message_index) for b in blocks] == [
        ("python", 0, 3),
        ("php", 1, 3),
        ("javascript", 2, 3),
        ("python", 4, 3),
    ]
    assert blocks[0].code == "eval(x)\n" and blocks[3].code == "unclosed = eval(y)\n"


async def test_thresholds_levels_roles_and_scope(tmp_path: Path) -> None:
    impl = await new_scanner(tmp_path)
    assert (
        await impl.run_shield(SHIELD, CONVERSATION, {"min_severity": "error"})
    ).violation is None
    warn = await impl.run_shield(SHIELD, CONVERSATION, {"level": "warn"})
    assert warn.violation.violation_level == ViolationLevel.warn
    assert (await impl.run_shield(SHIELD, CONVERSATION, {"roles": "user"})).violation is None
    reply = [CONVERSATION[1], UserMessage(role="user", content="thanks!")]
    assert (await impl.run_shield(SHIELD, reply, {"scope": "last"})).violation is None
    assert (await impl.run_shield(SHIELD, reply, {"scope": "all"})).violation is not None
    errors_only = await new_scanner(tmp_path, min_severity="error", level="warn")
    assert (await errors_only.run_shield(SHIELD, CONVERSATION, {})).violation is None
    c_code = fenced("c", "char b[8];\ngets(b);\nstrcpy(b, s);\n")  # gets: error, strcpy: warning
    strict = Shield(**{**SHIELD.model_dump(), "params": {"min_severity": "error"}})
    result = (await impl.run_moderation(strict, [c_code]))[0]
    assert result.flagged and result.categories["code/insecure/error"]
    assert result.user_message == "Insecure code: bugprone-gets (line 2)"
    assert not result.categories["code/insecure/warning"]
    assert result.category_scores["code/insecure/warning"] == 1.0  # found, under the threshold


@pytest.mark.parametrize(
    "params", [{"min_severity": "high"}, {"roles": ["robot"]}, {"scope": "first"}, {"rules": []}]
)
async def test_bad_shield_params_are_rejected(tmp_path: Path, params: dict[str, Any]) -> None:
    impl = await new_scanner(tmp_path)
    with pytest.raises(BadRequestError, match="code-scanner"):
        await impl.register_shield(Shield(**{**SHIELD.model_dump(), "params": params}))


async def test_one_semgrep_process_per_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(command: list[str], **kwargs: Any) -> Any:
        runs.append(command)
        return real_run(command, **kwargs)

    monkeypatch.setattr(scanner.subprocess, "run", counting_run)
    impl = await new_scanner(tmp_path)
    many = [UserMessage(role="user", content=fenced("python", "eval(input())\n"))] * 5
    results = await asyncio.gather(*(impl.run_shield(SHIELD, many, {}) for _ in range(3)))
    assert all(len(r.violation.metadata["findings"]) == 5 for r in results)
    assert len(runs) == 3 and all("--metrics" in c and "off" in c for c in runs)
    plain = [UserMessage(role="user", content=fenced("python", "print('hello')\n"))]
    assert (await impl.run_shield(SHIELD, plain, {})).violation is None
    assert len(runs) == 3  # no rule's prescan matched: semgrep was not started


async def test_a_rule_semgrep_cannot_load_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = rules.RuleSet.semgrep_rules
    body = {"id": "python__broken", "languages": ["python"], "message": "m", "severity": "ERROR"}
    prescan = rules.regex_engine().compile("")
    broken = rules.SemgrepRule({**body, "pattern": "eval(("}, "broken", "python", prescan)

    def with_broken(self: Any, language: str) -> Any:
        return (*real(self, language), broken) if language == "python" else real(self, language)

    monkeypatch.setattr(rules.RuleSet, "semgrep_rules", with_broken)
    impl = await new_scanner(tmp_path)
    with caplog.at_level(logging.WARNING):
        found = await impl.run_shield(
            SHIELD, [UserMessage(role="user", content=fenced("python", "eval(input())\n"))], {}
        )
    assert found.violation.metadata["violation_type"] == "insecure-eval-use"
    assert "broken" in caplog.text


async def test_semgrep_failures_are_errors_not_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = [UserMessage(role="user", content=fenced("python", "eval(input())\n"))]
    monkeypatch.setattr(rules, "semgrep_core", lambda: Path("/bin/false"))
    broken = await new_scanner(tmp_path)
    for _ in range(2):  # and still an error the second time, with every language checked
        with pytest.raises(ProviderError, match="semgrep failed"):
            await broken.run_shield(SHIELD, code, {})
    monkeypatch.undo()
    slow = await new_scanner(tmp_path, timeout_s=0.001)
    with pytest.raises(ProviderError, match="semgrep took over"):
        await slow.run_shield(SHIELD, code, {})
    # CodeShield's private-key regex backtracks for minutes on 100 kB of dashes: bounded here.
    dashes = [UserMessage(role="user", content=fenced("python", "-" * 100_000 + "\n"))]
    bounded = await new_scanner(tmp_path, regex_timeout_s=0.05)
    # Which rule runs out of time first depends on the machine's load (ALL-R-009 on a quiet one).
    with pytest.raises(
        ProviderError, match=r"rule ALL-R-\d+ took over 0\.05s on block 0 of message 0"
    ):
        await bounded.run_shield(SHIELD, dashes, {})


async def test_missing_packages_fail_at_creation(monkeypatch: pytest.MonkeyPatch) -> None:
    # Checked when the provider is made (without importing them); imported on the first scan.
    missing = {"codeshield": "codeshield", "semgrep": "semgrep"}
    missing |= {"markdown_it": "markdown-it-py", "regex": "regex"}
    for module, package in missing.items():
        real_find = rules.importlib.util.find_spec
        monkeypatch.setattr(
            rules.importlib.util,
            "find_spec",
            lambda n, m=module, f=real_find: None if n == m else f(n),
        )
        monkeypatch.setattr(rules.shutil, "which", lambda _: None)
        with pytest.raises(MissingDependencyError, match=r"llama-workbench\[safety\]") as caught:
            await new_scanner()
        assert caught.value.package == package
        monkeypatch.undo()

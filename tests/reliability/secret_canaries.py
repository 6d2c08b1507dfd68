"""A canary set of realistic fake credentials, generated from a fixed seed (never committed as literals,
so no secret scanner mistakes the repository for a leak) — and the placeholders that must stay as they are.
"""

from __future__ import annotations

import base64
import random
import string
from dataclasses import dataclass

_UP, _LOW, _DIG = string.ascii_uppercase, string.ascii_lowercase, string.digits
_ALNUM = _UP + _LOW + _DIG


@dataclass(frozen=True)
class Canary:
    kind: str  # the [REDACTED:<kind>] expected
    value: str  # the credential itself: none of it may survive redaction
    text: str  # how it appears in a prompt, a tool output, a trace or a document


def canaries(seed: int = 1125) -> list[Canary]:
    rng = random.Random(seed)

    def pick(alphabet: str, n: int) -> str:
        classes = [cls for cls in (_UP, _LOW, _DIG) if set(cls) & set(alphabet)]
        while True:  # every character class the alphabet has, like a real key
            token = "".join(rng.choice(alphabet) for _ in range(n))
            if all(any(ch in cls for ch in token) for cls in classes):
                return token

    aws_id = "AKIA" + "".join(rng.choice(_UP + "234567") for _ in range(16))
    aws_secret = pick(_ALNUM + "+/", 40)
    ghp = "ghp_" + pick(_ALNUM, 36)
    gh_fine = "github_pat_" + pick(_ALNUM, 22) + "_" + pick(_ALNUM, 59)
    openai = "sk-proj-" + pick(_ALNUM, 48)
    anthropic = "sk-ant-api03-" + pick(_ALNUM + "-_", 93)
    slack = f"xoxb-{rng.randint(10**11, 10**12)}-{rng.randint(10**11, 10**12)}-{pick(_ALNUM, 24)}"
    stripe = "sk_live_" + pick(_ALNUM, 24)
    google = "AIza" + pick(_ALNUM + "-_", 35)
    gitlab = "glpat-" + pick(_ALNUM, 20)
    npm = "npm_" + pick(_ALNUM, 36)
    hf = "hf_" + pick(_ALNUM, 34)
    sendgrid = "SG." + pick(_ALNUM, 22) + "." + pick(_ALNUM, 43)
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    claims = (
        base64.urlsafe_b64encode(f'{{"sub":"{rng.randint(1, 10**9)}","name":"Ada"}}'.encode())
        .decode()
        .rstrip("=")
    )
    jwt = f"{header}.{claims}.{pick(_ALNUM + '-_', 43)}"
    pem_body = "\n".join(pick(_ALNUM + "+/", 64) for _ in range(6))
    password = pick(_ALNUM, 6) + "!" + pick(_ALNUM, 7)
    db_password = pick(_ALNUM, 14)
    bearer = pick(_ALNUM, 40)
    curl_password = pick(_ALNUM, 12)
    generic = pick(_LOW + _DIG, 32)
    prose = pick(_ALNUM, 28)
    return [
        Canary("aws_access_key", aws_id, f"export AWS_ACCESS_KEY_ID={aws_id}"),
        Canary("secret", aws_secret, f"[default]\naws_secret_access_key = {aws_secret}\n"),
        Canary(
            "github_token", ghp, f'git clone https://x:{ghp}@github.com/acme/app.git\nGITHUB_TOKEN="{ghp}"'
        ),
        Canary("github_token", gh_fine, f"token: {gh_fine}"),
        Canary("openai_key", openai, f'client = OpenAI(api_key="{openai}")'),
        Canary("anthropic_key", anthropic, f"ANTHROPIC_API_KEY={anthropic}"),
        Canary("slack_token", slack, f'{{"ok": true, "token": "{slack}"}}'),
        Canary("stripe_key", stripe, f"stripe.api_key = '{stripe}'"),
        Canary("google_api_key", google, f"https://maps.googleapis.com/maps/api/geocode/json?key={google}"),
        Canary(
            "gitlab_token",
            gitlab,
            f"curl --header 'PRIVATE-TOKEN: {gitlab}' https://gitlab.com/api/v4/projects",
        ),
        Canary("npm_token", npm, f"//registry.npmjs.org/:_authToken={npm}"),
        Canary("huggingface_token", hf, f"huggingface-cli login --token {hf}"),
        Canary("sendgrid_key", sendgrid, f"SENDGRID_API_KEY='{sendgrid}'"),
        Canary("jwt", jwt, f"Cookie: session={jwt}"),
        Canary(
            "private_key",
            pem_body.splitlines()[2],
            f"-----BEGIN RSA PRIVATE KEY-----\n{pem_body}\n-----END RSA PRIVATE KEY-----\n",
        ),
        Canary("password", password, f'DB_PASSWORD = "{password}"'),
        Canary(
            "connection_string",
            db_password,
            f"DATABASE_URL=postgres://app:{db_password}@db.internal:5432/prod",
        ),
        Canary("bearer_token", bearer, f"Authorization: Bearer {bearer}"),
        Canary("password", curl_password, f"curl -u deploy:{curl_password} https://ci.example.net/api"),
        Canary("secret", generic, f'api_key = "{generic}"'),
        Canary("secret", prose, f"the token is {prose}, keep it safe"),
    ]


# Text that looks like a credential but is not one: redaction must leave it exactly as it is.
PLACEHOLDERS = [
    "api_key = 'your_api_key_here'",
    "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    "OPENAI_API_KEY=sk-...",
    'password = os.environ["DB_PASSWORD"]',
    "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "token = get_token()",
    "password: ${DB_PASSWORD}",
    "Authorization: Bearer <token>",
    "postgres://user:password@localhost/db",
    "secret_key = settings.SECRET_KEY",
    "the password is ignored when --no-auth is given",
    "Already done: [REDACTED:openai_key] and [REDACTED:password]",
    "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "commit 3f2a9c1e4b7d8e0f1a2b3c4d5e6f708192a3b4c5",
    "id = 550e8400-e29b-41d4-a716-446655440000",
]

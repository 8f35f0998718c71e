"""The run config's `server:` section, in Llama Stack 0.7.3's keys: auth providers, access and
route policies, quotas, CORS and TLS (plus this version's static tokens and limits)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from llama_workbench.core.policy import AccessRule, RouteAccessRule
from llama_workbench.storage.config import KVStoreRef


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthToken(_Strict):
    """A bearer token and the principal it authenticates (write `${env.X}`, not the token)."""

    token: SecretStr = Field(min_length=1)
    principal: str = Field(min_length=1)
    roles: list[str] = Field(default_factory=list, description="'admin' sees every resource.")
    attributes: dict[str, list[str]] = Field(
        default_factory=dict, description="More attributes for access rules: teams, projects..."
    )


def _default_claims_mapping() -> dict[str, str]:
    # Llama Stack 0.7.3's default: note that `sub` becomes a role.
    return {
        "sub": "roles", "username": "roles", "groups": "teams", "team": "teams",
        "project": "projects", "tenant": "namespaces", "namespace": "namespaces",
    }  # fmt: skip


class OAuth2JWKSConfig(_Strict):
    """Where the identity provider publishes its signing keys."""

    uri: str = Field(description="The JWKS URL (e.g. https://idp/.well-known/jwks.json).")
    token: SecretStr | None = Field(None, description="A bearer token the JWKS URL asks for.")
    key_recheck_period: int = Field(
        3600, ge=1, description="Seconds the keys are cached; an unknown key id refetches sooner."
    )


class OAuth2IntrospectionConfig(_Strict):
    """An RFC 7662 token introspection endpoint and this server's client credentials."""

    url: str
    client_id: str
    client_secret: SecretStr
    send_secret_in_body: bool = Field(False, description="Else HTTP basic auth.")


class OAuth2TokenAuthConfig(_Strict):
    """Bearer tokens from an OAuth2/OIDC identity provider: JWTs checked against its JWKS, or
    opaque tokens checked by introspection."""

    type: Literal["oauth2_token"] = "oauth2_token"
    audience: str = Field("llama-stack", description="The `aud` every JWT must carry.")
    issuer: str | None = Field(
        None, description="The `iss` every JWT must carry (unchecked if unset)."
    )
    verify_tls: bool = True
    tls_cafile: str | None = Field(None, description="CA bundle for the JWKS/introspection URL.")
    claims_mapping: dict[str, str] = Field(default_factory=_default_claims_mapping)
    jwks: OAuth2JWKSConfig | None = None
    introspection: OAuth2IntrospectionConfig | None = None
    clock_skew_seconds: int = Field(
        30, ge=0, le=600, description="Leeway for exp/nbf/iat (this version's key)."
    )

    @field_validator("claims_mapping")
    @classmethod
    def _no_empty_attribute(cls, value: dict[str, str]) -> dict[str, str]:
        for claim, attribute in value.items():
            if not attribute:
                raise ValueError(f"claims_mapping value cannot be empty: {claim}")
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> OAuth2TokenAuthConfig:
        if (self.jwks is None) == (self.introspection is None):
            raise ValueError("set exactly one of jwks or introspection")
        return self


class CustomAuthConfig(_Strict):
    """Bearer tokens checked by an HTTP endpoint of your own, which answers the principal."""

    type: Literal["custom"] = "custom"
    endpoint: str = Field(description="POSTed {api_key, request}; answers {principal, attributes}.")


AuthProviderConfig = Annotated[
    OAuth2TokenAuthConfig | CustomAuthConfig, Field(discriminator="type")
]


class AuthConfig(_Strict):
    """Who may call the server (`tokens` and/or `provider_config`) and what they may do."""

    tokens: list[AuthToken] = Field(default_factory=list)
    provider_config: AuthProviderConfig | None = None
    route_policy: list[RouteAccessRule] = Field(
        default_factory=list, description="Which routes callers may use (none: all)."
    )
    access_policy: list[AccessRule] = Field(
        default_factory=list,
        description="Who may create/read/update/delete which resources (none: owners and admins).",
    )


class QuotaConfig(_Strict):
    """Requests per client per period, counted in a kv store (so a restart keeps the counts)."""

    kvstore: KVStoreRef
    anonymous_max_requests: int = Field(100, ge=0, description="Per client address.")
    authenticated_max_requests: int = Field(1000, ge=0, description="Per principal.")
    period: Literal["day", "hour", "minute", "second"] = Field(
        "day", description="Llama Stack has day; hour, minute and second are this version's."
    )


class CORSConfig(_Strict):
    """Cross-origin requests from browsers (Starlette's CORS middleware)."""

    allow_origins: list[str] = Field(default_factory=list)
    allow_origin_regex: str | None = None
    allow_methods: list[str] = Field(default_factory=lambda: ["OPTIONS"])
    allow_headers: list[str] = Field(default_factory=list)
    allow_credentials: bool = False
    expose_headers: list[str] = Field(default_factory=list)
    max_age: int = Field(600, ge=0)

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self) -> CORSConfig:
        if self.allow_credentials and "*" in self.allow_origins:
            raise ValueError("Cannot use wildcard origins with credentials enabled")
        return self


# `cors: true`: a development setting, any localhost port (as Llama Stack's).
DEV_CORS = CORSConfig(
    allow_origin_regex=r"https?://localhost:\d+",
    allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    allow_headers=["Content-Type", "Authorization", "X-Requested-With"],
)


class ServerConfig(_Strict):
    """How `llama-workbench stack run` serves the stack."""

    host: str = Field(
        "127.0.0.1", description="Interface to bind; loopback unless you say otherwise."
    )
    port: int = Field(8321, ge=1, le=65535)
    auth: AuthConfig | None = Field(
        None, description="Authentication and policies; off when absent."
    )
    quota: QuotaConfig | None = Field(
        None, description="Per-client request quotas; off when absent."
    )
    cors: bool | CORSConfig | None = Field(None, description="true: any localhost origin.")
    tls_certfile: str | None = Field(None, description="Serve HTTPS with this certificate (PEM).")
    tls_keyfile: str | None = Field(None, description="The certificate's private key (PEM).")
    tls_cafile: str | None = Field(None, description="Require client certificates from this CA.")
    max_request_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="Larger bodies get 413.")
    max_concurrent_requests: int = Field(256, ge=1, description="Requests beyond this get 429.")
    graceful_shutdown_s: float = Field(
        30.0, ge=0, description="How long SIGTERM waits for requests."
    )

    @model_validator(mode="after")
    def _tls_pair(self) -> ServerConfig:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_certfile and tls_keyfile go together: set both or neither")
        if self.tls_cafile is not None and self.tls_certfile is None:
            raise ValueError("tls_cafile (client certificates) needs tls_certfile and tls_keyfile")
        return self

    def cors_config(self) -> CORSConfig | None:
        """The CORS settings in force (None: no CORS headers, other origins are refused)."""
        return DEV_CORS if self.cors is True else (self.cors or None)

    @property
    def scheme(self) -> str:
        return "https" if self.tls_certfile else "http"

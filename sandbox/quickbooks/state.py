"""Everything one running sandbox knows: config, companies, tokens, limits, faults, stats."""

from __future__ import annotations

from fastapi import Request

from sandbox.common.faults import FaultConfig, FaultInjector
from sandbox.common.middleware import RequestStats
from sandbox.quickbooks import clock, errors, seed, webhooks
from sandbox.quickbooks.config import CompanyProfile, SandboxConfig, new_realm_id
from sandbox.quickbooks.limits import RateLimiter, call_kind
from sandbox.quickbooks.rules import WriteContext
from sandbox.quickbooks.store import Obj, Realm, ReplayCache
from sandbox.quickbooks.tokens import TokenStore


class SandboxState:
    """Shared by all routers through `app.state.sandbox`."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = clock.CompanyClock(config.timezone)
        self.tokens = TokenStore(config)
        self.faults = FaultInjector()
        self.stats = RequestStats(kind_of=call_kind, kinds=("reads", "writes"))
        self.limiter = RateLimiter()
        self.replays = ReplayCache(config.requestid_ttl_seconds, self.clock.timestamp)
        self.limits = config.limits.model_copy()
        self.latency = config.latency.model_copy()
        self.realms: dict[str, Realm] = {}
        self.webhooks = webhooks.sender()
        self.reset()
        if config.seed_demo:
            seed.seed_demo(self.context(self.default_realm))

    @property
    def default_realm(self) -> Realm:
        return self.realms[self.config.realm_id]

    def reset(self) -> None:
        """Back to startup: one empty company, no faults, default limits and latency, the real time;
        OAuth grants survive."""
        self.realms = {}
        self.clock.shift = 0.0
        self.add_realm(self.config.realm_id, self.config.company_name)
        self.limiter.reset()
        self.faults.configure(FaultConfig.model_validate({}))
        self.limits = self.config.limits.model_copy()
        self.latency = self.config.latency.model_copy()
        self.webhooks.unregister()

    def add_realm(self, realm_id: str | None = None, company_name: str | None = None,
                  profile: CompanyProfile | None = None) -> Realm:
        """A new empty company (replacing one with the same id) of the given kind."""
        realm = Realm(realm_id or new_realm_id(), company_name or f"Sandbox Company {len(self.realms) + 1}")
        realm.case_insensitive_names = self.config.names_case_insensitive
        realm.profile = profile or self.config.company_profile
        self.realms[realm.realm_id] = realm
        seed.initialize_company(self.context(realm))
        realm.on_change = self._changed  # a new company's own accounts and codes are not news
        return realm

    def _changed(self, realm: Realm, entity: str, obj_id: str, operation: str, obj: Obj | None) -> None:
        if entity in webhooks.WEBHOOK_ENTITIES:
            updated = ((obj or {}).get("MetaData") or {}).get("LastUpdatedTime") or self.clock.stamp_now().isoformat()
            self.webhooks.publish(webhooks.change_event(realm.realm_id, entity, obj_id, operation, str(updated)))

    def realm(self, realm_id: str | None) -> Realm:
        realm = self.realms.get(realm_id or self.config.realm_id)
        if realm is None:
            raise errors.object_not_found()
        return realm

    def context(self, realm: Realm, include: frozenset[str] = frozenset(),
                hidden: set[tuple[str, str]] | None = None) -> WriteContext:
        return WriteContext(realm, self.config, self.clock.stamp_now(), include, hidden or set())

    def authenticate(self, authorization: str | None, realm_id: str) -> Realm:
        """Bearer token -> realm, with QBO's 401 (3200) and 403 (3100) gateway faults."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.authentication_failed("Malformed bearer token: too short or too long")
        token_realm = self.tokens.realm_for(token.strip())
        realm = self.realms.get(realm_id)
        if token_realm != realm_id or realm is None:
            raise errors.authorization_failed(realm_id)
        return realm

    def admit(self, realm_id: str, batch: bool = False) -> None:
        self.limiter.admit(realm_id, self.limits, batch, self.config.throttle_format)

    def throttled(self) -> errors.Throttled:
        return errors.Throttled(self.config.concurrency_retry_after, self.config.throttle_format)


def sandbox_state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state

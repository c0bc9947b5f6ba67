// The table of every configuration setting (docs/operations.md): environment variable, CLI flag, JSON
// schema, default and meaning. One row per setting; the loader, the README table check and the
// Helm chart values all follow this table.

/** A JSON-schema fragment for one setting's value (after coercion from its string form). */
export type SettingSchema =
  | { type: 'string'; enum?: readonly string[]; minLength?: number; pattern?: string }
  | { type: 'integer'; minimum?: number; maximum?: number }
  | { type: 'boolean' }
  | { type: 'array'; items: { type: 'string'; enum?: readonly string[]; pattern?: string } }

export interface Setting {
  /** Environment variable; upstream's name where one exists. */
  env: string
  /** Key in the loaded Config object. */
  key: string
  schema: SettingSchema
  default: string | number | boolean | readonly string[] | undefined
  /** One line for the README table and `--help`. */
  help: string
  /** Marks values that must never be printed (credentials). */
  secret?: boolean
  /** What the value must be, for the error line, when the schema alone would say it badly. */
  accepts?: string
}

const str = (extra: Omit<Extract<SettingSchema, { type: 'string' }>, 'type'> = {}): SettingSchema => ({ type: 'string', ...extra })
const int = (minimum: number, maximum: number): SettingSchema => ({ type: 'integer', minimum, maximum })
const bool: SettingSchema = { type: 'boolean' }
/** A Kubernetes object name (RFC 1123 subdomain, simplified). */
const DNS_NAME = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$'
/** A Go duration as the OpenKruise API takes it (`5m`, `90s`, `1h30m`). */
const GO_DURATION = '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$'
const DURATION_WORDS = 'a Go duration such as 5m, 90s or 1h30m'
const DNS_LABEL_PREFIX = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?-?)?$'
/** A namespace name (RFC 1123 label). */
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'

/** Every setting. Order is the README's order. */
export const SETTINGS: readonly Setting[] = [
  { env: 'AGENTTEAMS_DEFAULT_BACKEND_RUNTIME', key: 'defaultBackendRuntime', schema: str({ enum: ['pod', 'sandbox'] }), default: 'pod', help: 'backend for Workers that leave spec.backendRuntime unset' },
  { env: 'AGENTTEAMS_CONTROLLER_NAME', key: 'controllerName', schema: str({ minLength: 1, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' }), default: 'worker-runtime-controller', help: 'value of the agentteams.io/controller label on every object this controller creates' },
  { env: 'AGENTTEAMS_RESOURCE_PREFIX', key: 'resourcePrefix', schema: str({ pattern: DNS_LABEL_PREFIX }), default: 'agentteams-', help: 'prefix of runtime object names (<prefix>worker-<worker>)' },
  { env: 'AGENTTEAMS_LEGACY_PREFIXES', key: 'legacyPrefixes', schema: { type: 'array', items: { type: 'string', pattern: DNS_LABEL_PREFIX } }, accepts: 'a comma-separated list of name prefixes such as hiclaw-,agentteams-', default: ['hiclaw-', 'agentteams-'], help: 'name prefixes of the upstream controller: a Pod, SandboxClaim or Sandbox named <prefix>worker-<worker> counts as that Worker\'s runtime' },
  { env: 'AGENTTEAMS_LEGACY_NAMESPACES', key: 'legacyNamespaces', schema: { type: 'array', items: { type: 'string', pattern: DNS_LABEL } }, accepts: 'a comma-separated list of namespace names', default: [], help: 'namespaces besides each Worker\'s own where the upstream controller ran Workers (their Pods, claims and Sandboxes count as runtime objects)' },
  { env: 'AGENTTEAMS_WEBHOOK_ENABLED', key: 'webhookEnabled', schema: bool, default: true, help: 'serve the admission webhooks' },
  { env: 'AGENTTEAMS_RECONCILER_ENABLED', key: 'reconcilerEnabled', schema: bool, default: true, help: 'run the reconciler (leader-elected)' },
  { env: 'AGENTTEAMS_WEBHOOK_ADDRESS', key: 'webhookAddress', schema: str({ minLength: 1 }), default: '0.0.0.0', help: 'address the HTTPS webhook server binds' },
  { env: 'AGENTTEAMS_WEBHOOK_PORT', key: 'webhookPort', schema: int(0, 65535), default: 9443, help: 'HTTPS webhook port (controller-runtime default 9443; 0 picks a free port)' },
  { env: 'AGENTTEAMS_HEALTH_ADDRESS', key: 'healthAddress', schema: str({ minLength: 1 }), default: '0.0.0.0', help: 'address of the plain-HTTP /healthz and /readyz server' },
  { env: 'AGENTTEAMS_HEALTH_PORT', key: 'healthPort', schema: int(0, 65535), default: 8081, help: 'port of /healthz and /readyz (controller-runtime default 8081; 0 picks a free port)' },
  { env: 'AGENTTEAMS_METRICS_ADDRESS', key: 'metricsAddress', schema: str({ minLength: 1 }), default: '0.0.0.0', help: 'address of the /metrics server' },
  { env: 'AGENTTEAMS_METRICS_PORT', key: 'metricsPort', schema: int(0, 65535), default: 8443, help: 'port of /metrics (kubebuilder default 8443; 0 picks a free port)' },
  { env: 'AGENTTEAMS_METRICS_SECURE', key: 'metricsSecure', schema: bool, default: true, help: 'serve /metrics over HTTPS (the serving certificate) to callers the API server authenticates (TokenReview) and allows get on /metrics (SubjectAccessReview); false: plain HTTP, no authentication (local mode\'s default)' },
  { env: 'AGENTTEAMS_TLS_CERT_FILE', key: 'tlsCertFile', schema: str({ minLength: 1 }), default: 'certs/tls.crt', help: 'serving certificate (PEM); reloaded when it changes' },
  { env: 'AGENTTEAMS_TLS_KEY_FILE', key: 'tlsKeyFile', schema: str({ minLength: 1 }), default: 'certs/tls.key', help: 'serving key (PEM); reloaded when it changes' },
  { env: 'AGENTTEAMS_LOG_LEVEL', key: 'logLevel', schema: str({ enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }), default: 'info', help: 'pino log level' },
  { env: 'AGENTTEAMS_SANDBOX_ENABLED', key: 'sandboxEnabled', schema: bool, default: true, help: 'offer the sandbox backend (when false, sandbox Workers get a warning and are not run)' },
  { env: 'AGENTTEAMS_SANDBOX_PROVIDER_TYPE', key: 'sandboxProviderType', schema: str({ enum: ['openkruise'] }), default: 'openkruise', help: 'sandbox provider' },
  { env: 'AGENTTEAMS_SANDBOX_CAPABILITIES', key: 'sandboxCapabilities', schema: { type: 'array', items: { type: 'string', enum: ['hibernate', 'pool'] } }, default: [], help: 'comma list of provider capabilities: hibernate, pool' },
  { env: 'AGENTTEAMS_SANDBOX_PREWARM_SIZE', key: 'sandboxPrewarmSize', schema: int(0, 1000), default: 1, help: 'replicas of the warm SandboxSet (0 allowed)' },
  { env: 'AGENTTEAMS_SANDBOX_AGENT_RUNTIME_IMAGE', key: 'sandboxAgentRuntimeImage', schema: str(), default: '', help: 'image of the SandboxSet template (empty: the provider default)' },
  { env: 'AGENTTEAMS_SANDBOX_POOL_NAME', key: 'sandboxPoolName', schema: str({ pattern: DNS_NAME }), default: 'agentteams-builtin', help: 'name of the warm-pool SandboxSet in each Worker namespace (the claims\' templateName)' },
  { env: 'AGENTTEAMS_SANDBOX_CLAIM_TIMEOUT', key: 'sandboxClaimTimeout', schema: str({ pattern: GO_DURATION }), accepts: DURATION_WORDS, default: '5m', help: 'SandboxClaim claimTimeout (Go duration)' },
  { env: 'AGENTTEAMS_SANDBOX_WAIT_READY_TIMEOUT', key: 'sandboxWaitReadyTimeout', schema: str({ pattern: GO_DURATION }), accepts: DURATION_WORDS, default: '2m', help: 'SandboxClaim waitReadyTimeout (Go duration)' },
  { env: 'AGENTTEAMS_SANDBOX_TTL_AFTER_COMPLETED', key: 'sandboxTtlAfterCompleted', schema: str({ pattern: GO_DURATION }), accepts: DURATION_WORDS, default: '15m', help: 'SandboxClaim ttlAfterCompleted (Go duration)' },
  { env: 'AGENTTEAMS_SANDBOX_DEPS_PV_NAME', key: 'sandboxDepsPvName', schema: str({ pattern: DNS_NAME }), default: 'agentteams', help: 'PersistentVolume over the deps storage that claims mount (read-only)' },
  { env: 'AGENTTEAMS_SANDBOX_CREDENTIAL_PROVIDER_NAME', key: 'sandboxCredentialProviderName', schema: str({ minLength: 1 }), default: 'agentteams-token', help: 'credentialProviderName attribute of the token mount' },
  { env: 'AGENTTEAMS_DEPS_STORE_TYPE', key: 'depsStoreType', schema: str({ enum: ['filesystem', 's3'] }), default: 'filesystem', help: 'where Worker deps (env, token) are written: s3 (MinIO, OSS, any S3) or filesystem' },
  { env: 'AGENTTEAMS_DEPS_FILESYSTEM_DIR', key: 'depsFilesystemDir', schema: str({ minLength: 1 }), default: '.local/deps', help: 'directory of the filesystem deps store' },
  { env: 'AGENTTEAMS_DEPS_S3_ENDPOINT', key: 'depsS3Endpoint', schema: str({ pattern: '^(https?://.+)?$' }), accepts: 'an http:// or https:// URL, or empty', default: '', help: 'S3 endpoint URL, e.g. http://minio:9000 (empty: AWS)' },
  { env: 'AGENTTEAMS_DEPS_S3_BUCKET', key: 'depsS3Bucket', schema: str(), default: '', help: 'bucket of the s3 deps store (required for s3)' },
  { env: 'AGENTTEAMS_DEPS_S3_REGION', key: 'depsS3Region', schema: str({ minLength: 1 }), default: 'us-east-1', help: 'S3 region (MinIO default us-east-1)' },
  { env: 'AGENTTEAMS_DEPS_S3_ACCESS_KEY_ID', key: 'depsS3AccessKeyId', schema: str(), default: '', help: 'S3 access key id (from a Secret; empty: the SDK default chain)', secret: true },
  { env: 'AGENTTEAMS_DEPS_S3_SECRET_ACCESS_KEY', key: 'depsS3SecretAccessKey', schema: str(), default: '', help: 'S3 secret access key (from a Secret)', secret: true },
  { env: 'AGENTTEAMS_DEPS_S3_SESSION_TOKEN', key: 'depsS3SessionToken', schema: str(), default: '', help: 'S3 session token (STS; optional)', secret: true },
  { env: 'AGENTTEAMS_DEPS_S3_FORCE_PATH_STYLE', key: 'depsS3ForcePathStyle', schema: bool, default: true, help: 'path-style URLs (MinIO: true; Alibaba OSS: false)' },
  { env: 'AGENTTEAMS_WORKER_IMAGE', key: 'workerImage', schema: str({ minLength: 1 }), default: 'hiclaw/worker-agent:latest', help: 'worker image for spec.runtime openclaw or unset (upstream HICLAW_WORKER_IMAGE)' },
  { env: 'AGENTTEAMS_COPAW_WORKER_IMAGE', key: 'copawWorkerImage', schema: str(), default: '', help: 'worker image for copaw (empty: the worker image)' },
  { env: 'AGENTTEAMS_HERMES_WORKER_IMAGE', key: 'hermesWorkerImage', schema: str(), default: '', help: 'worker image for hermes (empty: the worker image)' },
  { env: 'AGENTTEAMS_OPENHUMAN_WORKER_IMAGE', key: 'openhumanWorkerImage', schema: str(), default: '', help: 'worker image for openhuman (empty: the worker image)' },
  { env: 'AGENTTEAMS_QWENPAW_WORKER_IMAGE', key: 'qwenpawWorkerImage', schema: str(), default: '', help: 'worker image for qwenpaw, upstream HEAD\'s runtime (empty: the worker image, with an admission warning)' },
  { env: 'AGENTTEAMS_AUTH_AUDIENCE', key: 'authAudience', schema: str({ minLength: 1 }), default: 'agentteams-controller', help: 'audience of the Worker\'s ServiceAccount token (upstream AGENTTEAMS_AUTH_AUDIENCE; #988 used hiclaw-controller)' },
  { env: 'AGENTTEAMS_AUTH_TOKEN_EXPIRATION_SECONDS', key: 'authTokenExpirationSeconds', schema: int(600, 86400), default: 3600, help: 'Worker token lifetime; refreshed before 80% of it passes (the API server requires >= 600)' },
  { env: 'AGENTTEAMS_CREDENTIALS_SECRET_NAME', key: 'credentialsSecretName', schema: str({ pattern: '^$|^[a-z0-9.-]*\\{worker\\}[a-z0-9.-]*$' }), accepts: 'a Secret name with {worker} for the worker name, e.g. agentteams-creds-{worker}, or empty', default: 'agentteams-creds-{worker}', help: 'the upstream provisioner\'s credential Secret of a Worker ({worker}: its worker name); its keys become system env keys (empty: none)' },
  { env: 'AGENTTEAMS_CREDENTIALS_NAMESPACE', key: 'credentialsNamespace', schema: str({ pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$' }), accepts: 'a namespace name, or empty', default: '', help: 'namespace of the credential Secrets (empty: each Worker\'s own, as upstream\'s single-namespace install keeps them)' },
  { env: 'AGENTTEAMS_CREDENTIALS_REQUIRED', key: 'credentialsRequired', schema: bool, default: false, help: 'a Worker without its credential Secret waits (Ready=False, reason CredentialsMissing) and gets no runtime' },
  { env: 'AGENTTEAMS_CONTROLLER_URL', key: 'controllerUrl', schema: str(), default: '', help: 'controller URL given to Workers in their env (empty: left out)' },
  { env: 'AGENTTEAMS_MATRIX_URL', key: 'matrixUrl', schema: str(), default: '', help: 'Matrix URL given to Workers in their env (empty: left out)' },
  { env: 'AGENTTEAMS_AI_GATEWAY_URL', key: 'aiGatewayUrl', schema: str(), default: '', help: 'AI gateway URL given to Workers in their env (empty: left out)' },
  { env: 'AGENTTEAMS_WATCH_NAMESPACE', key: 'watchNamespace', schema: str(), default: '', help: 'namespace the reconciler watches (empty: all namespaces)' },
  { env: 'AGENTTEAMS_LEADER_ELECTION', key: 'leaderElection', schema: bool, default: true, help: 'elect one reconciling replica with a coordination.k8s.io Lease' },
  { env: 'AGENTTEAMS_LEADER_ELECTION_NAMESPACE', key: 'leaderElectionNamespace', schema: str(), default: '', help: 'namespace of the Lease (empty: the pod\'s namespace, else default)' },
  { env: 'AGENTTEAMS_LEADER_ELECTION_ID', key: 'leaderElectionId', schema: str(), default: '', help: 'name of the Lease (empty: <controller name>-reconciler)' },
  { env: 'AGENTTEAMS_LEASE_DURATION_SECONDS', key: 'leaseDurationSeconds', schema: int(2, 300), default: 15, help: 'Lease duration (controller-runtime default 15)' },
  { env: 'AGENTTEAMS_RENEW_DEADLINE_SECONDS', key: 'renewDeadlineSeconds', schema: int(1, 300), default: 10, help: 'leader renew deadline, below the lease duration (controller-runtime default 10)' },
  { env: 'AGENTTEAMS_RETRY_PERIOD_SECONDS', key: 'retryPeriodSeconds', schema: int(1, 60), default: 2, help: 'leader election retry period (controller-runtime default 2)' },
  { env: 'AGENTTEAMS_MAX_CONCURRENT_RECONCILES', key: 'maxConcurrentReconciles', schema: int(1, 64), default: 10, help: 'Workers reconciled at once (different Workers only; measured: docs/measurements.md)' },
  { env: 'AGENTTEAMS_INFORMER_STALE_SECONDS', key: 'informerStaleSeconds', schema: int(10, 3600), default: 300, help: 'relist a watch that delivered nothing for this long (Pepr: 5 min)' },
  { env: 'AGENTTEAMS_INFORMER_RELIST_SECONDS', key: 'informerRelistSeconds', schema: int(60, 86400), default: 600, help: 'periodic relist to catch missed events (KFC: 10 min)' },
]

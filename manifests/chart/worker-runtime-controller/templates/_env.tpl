{{/*
The controller's environment: one entry per setting of config/settings.ts, in its order, each
from config.<key> (a test renders every key with its own value and checks the mapping one to one).
Integers go through int64 so 0 renders as "0" (never `default`, which treats 0 as empty: the
upstream chart's prewarmSize bug). The S3 credentials come from a Secret, never from values.
*/}}
{{- define "wrc.env" -}}
{{- $c := .Values.config -}}
- name: AGENTTEAMS_DEFAULT_BACKEND_RUNTIME
  value: {{ $c.defaultBackendRuntime | quote }}
- name: AGENTTEAMS_CONTROLLER_NAME
  value: {{ $c.controllerName | quote }}
- name: AGENTTEAMS_RESOURCE_PREFIX
  value: {{ $c.resourcePrefix | quote }}
- name: AGENTTEAMS_LEGACY_PREFIXES
  value: {{ join "," $c.legacyPrefixes | quote }}
- name: AGENTTEAMS_LEGACY_NAMESPACES
  value: {{ join "," $c.legacyNamespaces | quote }}
- name: AGENTTEAMS_WEBHOOK_ENABLED
  value: {{ $c.webhookEnabled | toString | quote }}
- name: AGENTTEAMS_RECONCILER_ENABLED
  value: {{ $c.reconcilerEnabled | toString | quote }}
- name: AGENTTEAMS_WEBHOOK_ADDRESS
  value: {{ $c.webhookAddress | quote }}
- name: AGENTTEAMS_WEBHOOK_PORT
  value: {{ int64 $c.webhookPort | quote }}
- name: AGENTTEAMS_HEALTH_ADDRESS
  value: {{ $c.healthAddress | quote }}
- name: AGENTTEAMS_HEALTH_PORT
  value: {{ int64 $c.healthPort | quote }}
- name: AGENTTEAMS_METRICS_ADDRESS
  value: {{ $c.metricsAddress | quote }}
- name: AGENTTEAMS_METRICS_PORT
  value: {{ int64 $c.metricsPort | quote }}
- name: AGENTTEAMS_METRICS_SECURE
  value: {{ $c.metricsSecure | toString | quote }}
- name: AGENTTEAMS_TLS_CERT_FILE
  value: {{ $c.tlsCertFile | quote }}
- name: AGENTTEAMS_TLS_KEY_FILE
  value: {{ $c.tlsKeyFile | quote }}
- name: AGENTTEAMS_LOG_LEVEL
  value: {{ $c.logLevel | quote }}
- name: AGENTTEAMS_SANDBOX_ENABLED
  value: {{ $c.sandboxEnabled | toString | quote }}
- name: AGENTTEAMS_SANDBOX_PROVIDER_TYPE
  value: {{ $c.sandboxProviderType | quote }}
- name: AGENTTEAMS_SANDBOX_CAPABILITIES
  value: {{ join "," $c.sandboxCapabilities | quote }}
- name: AGENTTEAMS_SANDBOX_PREWARM_SIZE
  value: {{ int64 $c.sandboxPrewarmSize | quote }}
- name: AGENTTEAMS_SANDBOX_AGENT_RUNTIME_IMAGE
  value: {{ $c.sandboxAgentRuntimeImage | quote }}
- name: AGENTTEAMS_SANDBOX_POOL_NAME
  value: {{ $c.sandboxPoolName | quote }}
- name: AGENTTEAMS_SANDBOX_CLAIM_TIMEOUT
  value: {{ $c.sandboxClaimTimeout | quote }}
- name: AGENTTEAMS_SANDBOX_WAIT_READY_TIMEOUT
  value: {{ $c.sandboxWaitReadyTimeout | quote }}
- name: AGENTTEAMS_SANDBOX_TTL_AFTER_COMPLETED
  value: {{ $c.sandboxTtlAfterCompleted | quote }}
- name: AGENTTEAMS_SANDBOX_DEPS_PV_NAME
  value: {{ $c.sandboxDepsPvName | quote }}
- name: AGENTTEAMS_SANDBOX_CREDENTIAL_PROVIDER_NAME
  value: {{ $c.sandboxCredentialProviderName | quote }}
- name: AGENTTEAMS_DEPS_STORE_TYPE
  value: {{ $c.depsStoreType | quote }}
- name: AGENTTEAMS_DEPS_FILESYSTEM_DIR
  value: {{ $c.depsFilesystemDir | quote }}
- name: AGENTTEAMS_DEPS_S3_ENDPOINT
  value: {{ $c.depsS3Endpoint | quote }}
- name: AGENTTEAMS_DEPS_S3_BUCKET
  value: {{ $c.depsS3Bucket | quote }}
- name: AGENTTEAMS_DEPS_S3_REGION
  value: {{ $c.depsS3Region | quote }}
- name: AGENTTEAMS_DEPS_S3_FORCE_PATH_STYLE
  value: {{ $c.depsS3ForcePathStyle | toString | quote }}
- name: AGENTTEAMS_WORKER_IMAGE
  value: {{ $c.workerImage | quote }}
- name: AGENTTEAMS_COPAW_WORKER_IMAGE
  value: {{ $c.copawWorkerImage | quote }}
- name: AGENTTEAMS_HERMES_WORKER_IMAGE
  value: {{ $c.hermesWorkerImage | quote }}
- name: AGENTTEAMS_OPENHUMAN_WORKER_IMAGE
  value: {{ $c.openhumanWorkerImage | quote }}
- name: AGENTTEAMS_QWENPAW_WORKER_IMAGE
  value: {{ $c.qwenpawWorkerImage | quote }}
- name: AGENTTEAMS_AUTH_AUDIENCE
  value: {{ $c.authAudience | quote }}
- name: AGENTTEAMS_AUTH_TOKEN_EXPIRATION_SECONDS
  value: {{ int64 $c.authTokenExpirationSeconds | quote }}
- name: AGENTTEAMS_CREDENTIALS_SECRET_NAME
  value: {{ $c.credentialsSecretName | quote }}
- name: AGENTTEAMS_CREDENTIALS_NAMESPACE
  value: {{ $c.credentialsNamespace | quote }}
- name: AGENTTEAMS_CREDENTIALS_REQUIRED
  value: {{ $c.credentialsRequired | toString | quote }}
- name: AGENTTEAMS_CONTROLLER_URL
  value: {{ $c.controllerUrl | quote }}
- name: AGENTTEAMS_MATRIX_URL
  value: {{ $c.matrixUrl | quote }}
- name: AGENTTEAMS_AI_GATEWAY_URL
  value: {{ $c.aiGatewayUrl | quote }}
- name: AGENTTEAMS_WATCH_NAMESPACE
  value: {{ $c.watchNamespace | quote }}
- name: AGENTTEAMS_LEADER_ELECTION
  value: {{ $c.leaderElection | toString | quote }}
- name: AGENTTEAMS_LEADER_ELECTION_NAMESPACE
  value: {{ $c.leaderElectionNamespace | quote }}
- name: AGENTTEAMS_LEADER_ELECTION_ID
  value: {{ $c.leaderElectionId | quote }}
- name: AGENTTEAMS_LEASE_DURATION_SECONDS
  value: {{ int64 $c.leaseDurationSeconds | quote }}
- name: AGENTTEAMS_RENEW_DEADLINE_SECONDS
  value: {{ int64 $c.renewDeadlineSeconds | quote }}
- name: AGENTTEAMS_RETRY_PERIOD_SECONDS
  value: {{ int64 $c.retryPeriodSeconds | quote }}
- name: AGENTTEAMS_MAX_CONCURRENT_RECONCILES
  value: {{ int64 $c.maxConcurrentReconciles | quote }}
- name: AGENTTEAMS_INFORMER_STALE_SECONDS
  value: {{ int64 $c.informerStaleSeconds | quote }}
- name: AGENTTEAMS_INFORMER_RELIST_SECONDS
  value: {{ int64 $c.informerRelistSeconds | quote }}
{{- with include "wrc.s3SecretName" . }}
{{- $k := $.Values.depsS3Credentials }}
- name: AGENTTEAMS_DEPS_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: {{ $k.accessKeyIdKey | quote }}}
- name: AGENTTEAMS_DEPS_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: {{ $k.secretAccessKeyKey | quote }}}
- name: AGENTTEAMS_DEPS_S3_SESSION_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: {{ $k.sessionTokenKey | quote }}, optional: true}
{{- end }}
{{- end -}}

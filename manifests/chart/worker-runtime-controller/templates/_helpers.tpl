{{/*
Names, labels and small derived values shared by the templates. Cross-field checks that a JSON
schema would say badly live in _validate.tpl.
*/}}

{{- define "wrc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name; the release name alone when it already contains the chart name. */}}
{{- define "wrc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "wrc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wrc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "wrc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "wrc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: agentteams
{{- end -}}

{{- define "wrc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "wrc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "wrc.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Secret holding the serving certificate of the webhooks and /metrics (chart-generated or cert-manager's). */}}
{{- define "wrc.tlsSecretName" -}}
{{- printf "%s-tls" (include "wrc.fullname" .) -}}
{{- end -}}

{{/* The serving certificate is needed by the webhook server and by the secure /metrics server. */}}
{{- define "wrc.servingCertNeeded" -}}
{{- if or .Values.config.webhookEnabled .Values.config.metricsSecure -}}true{{- end -}}
{{- end -}}

{{/* The webhook server is needed when any webhook configuration is rendered. */}}
{{- define "wrc.webhooksRendered" -}}
{{- if and .Values.config.webhookEnabled (or .Values.admission.mutating.enabled (ne .Values.admission.mode "policy")) -}}true{{- end -}}
{{- end -}}

{{/* Namespace of the reconciler's Lease (AGENTTEAMS_LEADER_ELECTION_NAMESPACE, else the pod's). */}}
{{- define "wrc.leaseNamespace" -}}
{{- default .Release.Namespace .Values.config.leaderElectionNamespace -}}
{{- end -}}

{{/* Name of the reconciler's Lease (AGENTTEAMS_LEADER_ELECTION_ID, else <controllerName>-reconciler). */}}
{{- define "wrc.leaseName" -}}
{{- default (printf "%s-reconciler" .Values.config.controllerName) .Values.config.leaderElectionId -}}
{{- end -}}

{{/* The S3 credentials Secret, when there is one (existing or chart-made). */}}
{{- define "wrc.s3SecretName" -}}
{{- with .Values.depsS3Credentials -}}
{{- if .existingSecret -}}
{{- .existingSecret -}}
{{- else if or .accessKeyId .secretAccessKey .sessionToken -}}
{{- printf "%s-s3" (include "wrc.fullname" $) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Namespaces the webhooks and the policy skip (kubernetes.io/metadata.name cannot be spoofed). */}}
{{- define "wrc.namespaceSelector" -}}
{{- if .Values.admission.excludedNamespaces -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ toJson .Values.admission.excludedNamespaces }}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/*
Rules across several values, checked at render time so `helm install` stops with one clear line
instead of a pod that crash-loops on the same rule (config/config.ts checks them again at start).
Single-value rules live in values.schema.json.
*/}}
{{- define "wrc.validate" -}}
{{- $c := .Values.config -}}
{{- if and (eq $c.depsStoreType "s3") (not $c.depsS3Bucket) -}}
{{- fail "config.depsS3Bucket is required when config.depsStoreType is s3" -}}
{{- end -}}
{{- with .Values.depsS3Credentials -}}
{{- if and (not .existingSecret) (ne (empty .accessKeyId) (empty .secretAccessKey)) -}}
{{- fail "depsS3Credentials.accessKeyId and depsS3Credentials.secretAccessKey must be set together (or use depsS3Credentials.existingSecret)" -}}
{{- end -}}
{{- end -}}
{{- if ge (int64 $c.renewDeadlineSeconds) (int64 $c.leaseDurationSeconds) -}}
{{- fail (printf "config.renewDeadlineSeconds (%v) must be below config.leaseDurationSeconds (%v)" $c.renewDeadlineSeconds $c.leaseDurationSeconds) -}}
{{- end -}}
{{- if ge (int64 $c.retryPeriodSeconds) (int64 $c.renewDeadlineSeconds) -}}
{{- fail (printf "config.retryPeriodSeconds (%v) must be below config.renewDeadlineSeconds (%v)" $c.retryPeriodSeconds $c.renewDeadlineSeconds) -}}
{{- end -}}
{{- if and (ne .Values.admission.mode "policy") (not $c.webhookEnabled) -}}
{{- fail (printf "admission.mode %s needs the webhook server: set config.webhookEnabled=true, or admission.mode=policy" .Values.admission.mode) -}}
{{- end -}}
{{- if eq (int64 $c.webhookPort) (int64 $c.healthPort) -}}
{{- fail (printf "config.webhookPort and config.healthPort must differ (both %v)" $c.webhookPort) -}}
{{- end -}}
{{- range $other := list "webhookPort" "healthPort" -}}
{{- if eq (int64 (get $c $other)) (int64 $c.metricsPort) -}}
{{- fail (printf "config.%s and config.metricsPort must differ (both %v)" $other $c.metricsPort) -}}
{{- end -}}
{{- end -}}
{{- if and (include "wrc.servingCertNeeded" .) (or (ne (dir $c.tlsCertFile) (dir $c.tlsKeyFile)) (eq $c.tlsCertFile $c.tlsKeyFile)) -}}
{{- fail (printf "config.tlsCertFile and config.tlsKeyFile must be two files in one directory (the mounted Secret): got %s and %s" $c.tlsCertFile $c.tlsKeyFile) -}}
{{- end -}}
{{- if and $c.reconcilerEnabled (not $c.leaderElection) (gt (int .Values.replicaCount) 1) -}}
{{- fail (printf "config.leaderElection=false with replicaCount %v would run %v reconcilers side by side: keep leader election on, or set replicaCount=1" .Values.replicaCount .Values.replicaCount) -}}
{{- end -}}
{{- if and (not $c.webhookEnabled) (not $c.reconcilerEnabled) -}}
{{- fail "config.webhookEnabled and config.reconcilerEnabled are both false: the controller would do nothing" -}}
{{- end -}}
{{- end -}}

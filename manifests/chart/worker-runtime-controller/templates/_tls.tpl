{{/*
The chart-generated webhook PKI, as YAML {caCert, caKey, tlsCert, tlsKey, caNotAfter, tlsNotAfter}
(PEM text; not-after as Unix seconds). Stable across upgrades: the existing Secret is looked up and
kept, unless a part has fewer than certs.renewBeforeDays left or the Service's DNS names changed.
A renewed serving certificate keeps the CA, so the webhooks' caBundle does not move and no
request fails while the pods pick up the new files. `helm template` (no cluster) always generates.
Include it once per template file: every include generates new keys.
*/}}
{{- define "wrc.generatedTLS" -}}
{{- $svc := include "wrc.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $dns := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- $now := now | unixEpoch | int64 -}}
{{- $deadline := add $now (mul (int64 .Values.certs.renewBeforeDays) 86400) -}}
{{- $secret := lookup "v1" "Secret" $ns (include "wrc.tlsSecretName" .) -}}
{{- $data := dict -}}
{{- $notes := dict -}}
{{- if $secret -}}
{{- $data = $secret.data | default dict -}}
{{- $notes = $secret.metadata.annotations | default dict -}}
{{- end -}}
{{- $caNotAfter := get $notes "agentteams.io/ca-not-after" | default "0" | int64 -}}
{{- $tlsNotAfter := get $notes "agentteams.io/tls-not-after" | default "0" | int64 -}}
{{- $ca := dict -}}
{{- $newCA := true -}}
{{- if and (get $data "ca.crt") (get $data "ca.key") (gt $caNotAfter $deadline) -}}
{{- $ca = buildCustomCert (get $data "ca.crt") (get $data "ca.key") -}}
{{- $newCA = false -}}
{{- else -}}
{{- $ca = genCA (printf "%s-webhook-ca" $svc) (int .Values.certs.caValidityDays) -}}
{{- $caNotAfter = add $now (mul (int64 .Values.certs.caValidityDays) 86400) -}}
{{- end -}}
{{- $sameNames := eq (get $notes "agentteams.io/tls-dns-names") (join "," $dns) -}}
{{- $tlsCert := "" -}}
{{- $tlsKey := "" -}}
{{- if and (not $newCA) $sameNames (get $data "tls.crt") (get $data "tls.key") (gt $tlsNotAfter $deadline) -}}
{{- $tlsCert = get $data "tls.crt" | b64dec -}}
{{- $tlsKey = get $data "tls.key" | b64dec -}}
{{- else -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc $ns) nil $dns (int .Values.certs.validityDays) $ca -}}
{{- $tlsCert = $cert.Cert -}}
{{- $tlsKey = $cert.Key -}}
{{- $tlsNotAfter = add $now (mul (int64 .Values.certs.validityDays) 86400) -}}
{{- end -}}
caCert: {{ $ca.Cert | quote }}
caKey: {{ $ca.Key | quote }}
tlsCert: {{ $tlsCert | quote }}
tlsKey: {{ $tlsKey | quote }}
caNotAfter: {{ $caNotAfter | quote }}
tlsNotAfter: {{ $tlsNotAfter | quote }}
dnsNames: {{ join "," $dns | quote }}
{{- end -}}

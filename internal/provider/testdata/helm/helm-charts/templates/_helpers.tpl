{{/* R if the release name contains "mastodon", else R-mastodon (as the real chart). */}}
{{- define "fx.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{ else }}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{ end }}
{{- end }}

{{- define "fx.tag" -}}{{ .Values.image.tag | default .Chart.AppVersion }}{{- end }}

{{- define "fx.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "fx.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "fx.selector" . }}
app.kubernetes.io/version: {{ include "fx.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The Secret-backed variables of every Rails/streaming container; pre = "-predeploy" or "". */}}
{{- define "fx.secretEnv" -}}
{{- $f := include "fx.fullname" .ctx }}
{{- range list (list "SECRET_KEY_BASE" "secret-key-base") (list "VAPID_PRIVATE_KEY" "vapid-private-key") (list "VAPID_PUBLIC_KEY" "vapid-public-key") (list "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY" "are-primary-key") (list "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY" "are-deterministic-key") (list "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT" "are-derivation-salt") }}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ $f }}-secrets{{ $.pre }}
      key: {{ index . 1 }}
{{- end }}
- name: DB_PASS
  valueFrom:
    secretKeyRef:
      name: {{ $f }}-postgres-auth{{ .pre }}
      key: password
- name: DB_USER
  valueFrom:
    secretKeyRef:
      name: {{ $f }}-postgres-auth{{ .pre }}
      key: username
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $f }}-redis-auth{{ .pre }}
      key: password
{{- end }}

{{/* ConfigMap data; smtp = include the SMTP and auth keys (not in the predeploy ConfigMap). */}}
{{- define "fx.envData" -}}
{{- $v := .ctx.Values }}
TZ: "UTC"
LOCAL_DOMAIN: {{ $v.mastodon.localDomain | quote }}
WEB_DOMAIN: {{ $v.mastodon.webDomain | quote }}
RAILS_LOG_LEVEL: info
LOG_LEVEL: info
MALLOC_ARENA_MAX: "2"
NODE_ENV: "production"
RAILS_ENV: "production"
STREAMING_CLUSTER_NUM: "1"
DB_HOST: {{ $v.postgresql.hostname | quote }}
DB_PORT: {{ $v.postgresql.port | quote }}
DB_NAME: {{ $v.postgresql.database | quote }}
PREPARED_STATEMENTS: "true"
ES_ENABLED: "false"
REDIS_HOST: {{ $v.redis.hostname | quote }}
REDIS_PORT: {{ $v.redis.port | quote }}
{{- if .smtp }}
SMTP_AUTH_METHOD: "plain"
SMTP_CA_FILE: "/etc/ssl/certs/ca-certificates.crt"
SMTP_DELIVERY_METHOD: "smtp"
SMTP_ENABLE_STARTTLS: "auto"
SMTP_FROM_ADDRESS: {{ $v.mastodon.smtp.fromAddress | quote }}
SMTP_OPENSSL_VERIFY_MODE: "peer"
SMTP_PORT: {{ $v.mastodon.smtp.port | quote }}
SMTP_SERVER: {{ $v.mastodon.smtp.server | quote }}
CACHE_BUSTER_ENABLED: "false"
OIDC_ENABLED: "false"
SAML_ENABLED: "false"
CAS_ENABLED: "false"
PAM_ENABLED: "false"
LDAP_ENABLED: "false"
OMNIAUTH_ONLY: "false"
{{- end }}
{{- end }}

{{- define "fx.mediaMounts" -}}
- name: assets
  mountPath: /opt/mastodon/public/assets
- name: system
  mountPath: /opt/mastodon/public/system
{{- end }}

{{- define "fx.mediaVolumes" -}}
- name: assets
  persistentVolumeClaim:
    claimName: {{ include "fx.fullname" . }}-assets
- name: system
  persistentVolumeClaim:
    claimName: {{ include "fx.fullname" . }}-system
{{- end }}

{{- define "fx.podSecurity" -}}
securityContext:
  runAsUser: 991
  runAsGroup: 991
  fsGroup: 991
{{- end }}

{{- define "fx.predeploy" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
helm.sh/hook-weight: "-10"
{{- end }}

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

{{/* Labels of the Bitnami subcharts' objects; ctx, name (postgresql|redis), version, chart. */}}
{{- define "fx.bitnamiLabels" -}}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/version: {{ .version | quote }}
helm.sh/chart: {{ .chart }}
{{- end }}
{{- define "fx.pgLabels" -}}{{ include "fx.bitnamiLabels" (dict "ctx" . "name" "postgresql" "version" "16.2.0" "chart" "postgresql-14.2.3") }}{{- end }}
{{- define "fx.redisLabels" -}}{{ include "fx.bitnamiLabels" (dict "ctx" . "name" "redis" "version" "8.2.1" "chart" "redis-22.0.7") }}{{- end }}

{{/* The database and Redis passwords, from the Bitnami Secrets. */}}
{{- define "fx.passwordEnv" -}}
- name: DB_PASS
  valueFrom:
    secretKeyRef:
      name: {{ .Release.Name }}-postgresql
      key: password
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Release.Name }}-redis
      key: redis-password
{{- end }}

{{- define "fx.envFrom" -}}
- configMapRef:
    name: {{ include "fx.fullname" . }}-env
- secretRef:
    name: {{ include "fx.fullname" . }}
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

{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "albctl.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name. */}}
{{- define "albctl.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "albctl.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "albctl.labels" -}}
helm.sh/chart: {{ include "albctl.chart" . }}
{{ include "albctl.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: albctl
{{- end }}

{{/* Labels selecting the controller pods. */}}
{{- define "albctl.selectorLabels" -}}
app.kubernetes.io/name: {{ include "albctl.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "albctl.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "albctl.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the IngressClassParams the IngressClass references ("" for none). */}}
{{- define "albctl.ingressClassParamsName" -}}
{{- if .Values.ingressClassParams.create }}
{{- default .Values.ingressClass .Values.ingressClassParams.name }}
{{- else }}
{{- .Values.ingressClassParams.name }}
{{- end }}
{{- end }}

{{/* Leader election is forced on with more than one replica. */}}
{{- define "albctl.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) (gt (int .Values.shards) 1) }}true{{ end }}
{{- end }}

{{/* defaultTags as k=v,k2=v2 (keys sorted). */}}
{{- define "albctl.defaultTags" -}}
{{- $pairs := list }}
{{- range $k, $v := .Values.defaultTags }}
{{- $pairs = append $pairs (printf "%s=%s" $k $v) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/* The Service in front of the webhooks, and the Secret of their serving certificate. */}}
{{- define "albctl.webhookService" -}}
{{- printf "%s-webhook" (include "albctl.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "albctl.webhookSecret" -}}
{{- printf "%s-webhook-tls" (include "albctl.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Where the controller reads the webhook certificate (the Secret's volume). */}}
{{- define "albctl.webhookCertDir" -}}
/etc/albctl/webhook-tls
{{- end }}

{{/* The controller image: repository:tag (tag defaults to appVersion), or repository@digest. */}}
{{- define "albctl.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

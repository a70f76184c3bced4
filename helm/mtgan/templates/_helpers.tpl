{{/* Chart name, truncated to 63 chars (DNS label). */}}
{{- define "mtgan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name: release-chart unless the release already contains it. */}}
{{- define "mtgan.fullname" -}}
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

{{- define "mtgan.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "mtgan.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "mtgan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mtgan.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mtgan.jobName" -}}
{{- default (include "mtgan.fullname" .) .Values.job.name -}}
{{- end -}}

{{- define "mtgan.serverName" -}}
{{- printf "%s-server" (include "mtgan.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mtgan.edgeName" -}}
{{- printf "%s-edge" (include "mtgan.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mtgan.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mtgan.serverName" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mtgan.secretName" -}}
{{- default (printf "%s-token" (include "mtgan.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "mtgan.serverImage" -}}
{{- printf "%s:%s" .Values.image.server.repository (toString .Values.image.server.tag) -}}
{{- end -}}

{{- define "mtgan.edgeImage" -}}
{{- printf "%s:%s" .Values.image.edge.repository (toString .Values.image.edge.tag) -}}
{{- end -}}

{{- define "mtgan.serverURL" -}}
{{- default (printf "http://%s.%s.svc:%v" (include "mtgan.serverName" .) .Release.Namespace .Values.server.service.port) .Values.edges.serverURL -}}
{{- end -}}

{{/* The token volume + mount, shared by server and edge pods. */}}
{{- define "mtgan.tokenVolume" -}}
- name: token
  secret:
    secretName: {{ include "mtgan.secretName" . }}
    defaultMode: 0440
{{- end -}}

{{/*
Names, labels and values derived from several keys. Templates include these rather than
repeat the logic.
*/}}

{{- define "kinesis-relay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name; the release name alone when it already contains the chart name.
*/}}
{{- define "kinesis-relay.fullname" -}}
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

{{- define "kinesis-relay.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "kinesis-relay.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kinesis-relay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kinesis-relay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kinesis-relay.labels" -}}
helm.sh/chart: {{ include "kinesis-relay.chart" . }}
{{ include "kinesis-relay.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "kinesis-relay.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kinesis-relay.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
repository:tag, or repository@digest when a digest is given (the digest wins).
*/}}
{{- define "kinesis-relay.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The container port: config.metrics.port, as the relay itself reads it (default 9464).
*/}}
{{- define "kinesis-relay.metricsPort" -}}
{{- (.Values.config.metrics | default dict).port | default 9464 | int }}
{{- end }}

{{/*
config.shutdown.timeoutMs rounded up to whole seconds (the relay's default is 25000).
A ${VAR} reference is known only in the container: `int` would make it 0 and the pod
would be killed seconds into its shutdown, so it needs an explicit
terminationGracePeriodSeconds (0 here: the explicit value is then taken as it is).
*/}}
{{- define "kinesis-relay.shutdownTimeoutSeconds" -}}
{{- $timeoutMs := (.Values.config.shutdown | default dict).timeoutMs | default 25000 }}
{{- if kindIs "string" $timeoutMs }}
{{- if not .Values.terminationGracePeriodSeconds }}
{{- fail (printf "config.shutdown.timeoutMs is %s, read only in the container: set terminationGracePeriodSeconds to its largest value in seconds plus 3 or more" $timeoutMs) }}
{{- end }}
{{- 0 }}
{{- else }}
{{- div (add ($timeoutMs | int) 999) 1000 }}
{{- end }}
{{- end }}

{{/*
Kubernetes kills the pod after terminationGracePeriodSeconds: it must leave the relay its
whole shutdown timeout (flush sinks, checkpoint, release leases) plus the 3 s it may take
after a timed-out one (closing clients up to 2 s, then a forced exit 1 s later).
*/}}
{{- define "kinesis-relay.terminationGracePeriodSeconds" -}}
{{- $shutdown := include "kinesis-relay.shutdownTimeoutSeconds" . | int }}
{{- if .Values.terminationGracePeriodSeconds }}
{{- if lt (int .Values.terminationGracePeriodSeconds) (add $shutdown 3) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be at least config.shutdown.timeoutMs (%d s) + 3" (int .Values.terminationGracePeriodSeconds) $shutdown) }}
{{- end }}
{{- .Values.terminationGracePeriodSeconds | int }}
{{- else }}
{{- add $shutdown .Values.terminationGracePeriodExtraSeconds }}
{{- end }}
{{- end }}

{{/*
KEDA's scaler takes a stream name; config.stream.name may be an ARN.
*/}}
{{- define "kinesis-relay.kedaStreamName" -}}
{{- if .Values.keda.streamName }}
{{- .Values.keda.streamName }}
{{- else }}
{{- regexReplaceAll "^arn:[^:]+:kinesis:[^:]*:[^:]*:stream/" .Values.config.stream.name "" }}
{{- end }}
{{- end }}

{{- define "kinesis-relay.kedaRegion" -}}
{{- $region := .Values.keda.awsRegion | default (.Values.config.aws | default dict).region }}
{{- required "keda.awsRegion (or config.aws.region) is required with keda.enabled" $region }}
{{- end }}

{{- define "kinesis-relay.kedaTriggerAuthenticationName" -}}
{{- default (include "kinesis-relay.fullname" .) .Values.keda.triggerAuthentication.name }}
{{- end }}

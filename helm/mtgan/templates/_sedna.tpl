{{/*
A Sedna worker pod template. Call with
  (dict "root" $ "nodeName" N "name" C "image" I "pullPolicy" P "command" LIST "args" LIST "port" PORT-or-0 "env" LIST
        "outputDir" DIR-or-"")
With outputDir, an init container (root, CAP_CHOWN only) hands <outputDir>/train and /eval, which
Sedna's LC creates as root, to the worker's uid: the train and eval workers create <round>/ there.
*/}}
{{- define "mtgan.sednaPodTemplate" -}}
{{- $v := .root.Values -}}
spec:
  nodeName: {{ .nodeName }}
  securityContext:
    {{- toYaml $v.podSecurityContext | nindent 4 }}
  {{- if .outputDir }}
  initContainers:
    - name: output-owner
      image: {{ .image }}
      imagePullPolicy: {{ .pullPolicy }}
      command: ["chown", "{{ $v.podSecurityContext.runAsUser | default 65532 }}:{{ $v.podSecurityContext.runAsGroup | default 65532 }}", "/output/train", "/output/eval"]
      securityContext:
        runAsNonRoot: false
        runAsUser: 0
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
          add: ["CHOWN"]
      volumeMounts:
        - name: output
          mountPath: /output
  {{- end }}
  containers:
    - name: {{ .name }}
      image: {{ .image }}
      imagePullPolicy: {{ .pullPolicy }}
      {{- with .command }}
      command:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      args:
        {{- toYaml .args | nindent 8 }}
      env:
        - name: OPENBLAS_NUM_THREADS
          value: "1"
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if .port }}
      ports:
        - name: http
          containerPort: {{ .port }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
      {{- end }}
      resources:
        {{- toYaml .resources | nindent 8 }}
      securityContext:
        {{- toYaml $v.containerSecurityContext | nindent 8 }}
      volumeMounts:
        - name: state
          mountPath: /var/lib/mtgan
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: state
      emptyDir: {}
    - name: tmp
      emptyDir: {}
    {{- if .outputDir }}
    - name: output
      hostPath:
        path: {{ .outputDir }}
        type: Directory
    {{- end }}
{{- end -}}

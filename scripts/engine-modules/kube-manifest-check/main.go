// Command kube-manifest-check validates Kubernetes manifests offline:
//
//	kube-manifest-check FILE...
//
// Each YAML document is decoded strictly into its k8s.io/api type, as the
// API server decodes it (a field the type does not have, a field given twice,
// a field name in the wrong case or a value of the wrong type is an error), then checked for the mistakes the API server would refuse and
// the types cannot express: names, labels, a selector that does not select
// its own pod template, a mount of a volume that is not declared, relative or
// missing paths. It prints one "ok" line per document, or the problems on
// stderr and exits 1.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// object is what every kind gives the checks: its metadata, and its own problems.
type object interface {
	meta() *metav1.ObjectMeta
	problems() []string
}

type namespace struct{ corev1.Namespace }

func (o *namespace) meta() *metav1.ObjectMeta { return &o.ObjectMeta }
func (o *namespace) problems() []string      { return nil }

type serviceAccount struct{ corev1.ServiceAccount }

func (o *serviceAccount) meta() *metav1.ObjectMeta { return &o.ObjectMeta }
func (o *serviceAccount) problems() []string      { return nil }

type configMap struct{ corev1.ConfigMap }

func (o *configMap) meta() *metav1.ObjectMeta { return &o.ObjectMeta }
func (o *configMap) problems() []string {
	var out []string
	for key := range o.Data {
		out = append(out, prefixed("data key "+key, validation.IsConfigMapKey(key))...)
	}
	return out
}

type daemonSet struct{ appsv1.DaemonSet }

func (o *daemonSet) meta() *metav1.ObjectMeta { return &o.ObjectMeta }
func (o *daemonSet) problems() []string {
	spec := o.Spec
	var out []string
	if spec.Selector == nil {
		out = append(out, "spec.selector is required")
	} else if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err != nil {
		out = append(out, "spec.selector: "+err.Error())
	} else if selector.Empty() || !selector.Matches(labels.Set(spec.Template.Labels)) {
		out = append(out, "spec.selector does not select spec.template.metadata.labels")
	}
	out = append(out, labelProblems("spec.template.metadata.labels", spec.Template.Labels)...)
	switch spec.UpdateStrategy.Type {
	case "", appsv1.RollingUpdateDaemonSetStrategyType, appsv1.OnDeleteDaemonSetStrategyType:
	default:
		out = append(out, fmt.Sprintf("spec.updateStrategy.type %q is not RollingUpdate or OnDelete", spec.UpdateStrategy.Type))
	}
	return append(out, podProblems("spec.template.spec", spec.Template.Spec)...)
}

// kinds maps apiVersion/kind to a fresh object of its type.
var kinds = map[string]func() object{
	"v1/Namespace":      func() object { return &namespace{} },
	"v1/ServiceAccount": func() object { return &serviceAccount{} },
	"v1/ConfigMap":      func() object { return &configMap{} },
	"apps/v1/DaemonSet": func() object { return &daemonSet{} },
}

var hostPathTypes = map[corev1.HostPathType]bool{
	corev1.HostPathUnset: true, corev1.HostPathDirectoryOrCreate: true, corev1.HostPathDirectory: true,
	corev1.HostPathFileOrCreate: true, corev1.HostPathFile: true, corev1.HostPathSocket: true,
	corev1.HostPathCharDev: true, corev1.HostPathBlockDev: true,
}

func podProblems(at string, spec corev1.PodSpec) []string {
	var out []string
	volumes := map[string]bool{}
	for i, volume := range spec.Volumes {
		where := fmt.Sprintf("%s.volumes[%d]", at, i)
		out = append(out, prefixed(where+".name", validation.IsDNS1123Label(volume.Name))...)
		if volumes[volume.Name] {
			out = append(out, fmt.Sprintf("%s.name %q is declared twice", where, volume.Name))
		}
		volumes[volume.Name] = true
		if hostPath := volume.HostPath; hostPath != nil {
			if !path.IsAbs(hostPath.Path) {
				out = append(out, fmt.Sprintf("%s.hostPath.path %q is not absolute", where, hostPath.Path))
			}
			if hostPath.Type != nil && !hostPathTypes[*hostPath.Type] {
				out = append(out, fmt.Sprintf("%s.hostPath.type %q is not a hostPath type", where, *hostPath.Type))
			}
		}
	}
	if len(spec.Containers) == 0 {
		out = append(out, at+".containers: a pod needs at least one container")
	}
	switch spec.RestartPolicy {
	case "", corev1.RestartPolicyAlways:
	default:
		out = append(out, fmt.Sprintf("%s.restartPolicy %q: a DaemonSet's pods restart Always", at, spec.RestartPolicy))
	}
	names := map[string]bool{}
	containers := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for i, container := range containers {
		where := fmt.Sprintf("%s.containers[%d]", at, i-len(spec.InitContainers))
		if i < len(spec.InitContainers) {
			where = fmt.Sprintf("%s.initContainers[%d]", at, i)
		}
		out = append(out, prefixed(where+".name", validation.IsDNS1123Label(container.Name))...)
		if names[container.Name] {
			out = append(out, fmt.Sprintf("%s.name %q is used twice", where, container.Name))
		}
		names[container.Name] = true
		if strings.TrimSpace(container.Image) == "" {
			out = append(out, where+".image is required")
		}
		switch container.ImagePullPolicy {
		case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		default:
			out = append(out, fmt.Sprintf("%s.imagePullPolicy %q is not Always, IfNotPresent or Never", where, container.ImagePullPolicy))
		}
		for j, mount := range container.VolumeMounts {
			if !volumes[mount.Name] {
				out = append(out, fmt.Sprintf("%s.volumeMounts[%d] mounts %q, which is not in %s.volumes", where, j, mount.Name, at))
			}
			if !path.IsAbs(mount.MountPath) {
				out = append(out, fmt.Sprintf("%s.volumeMounts[%d].mountPath %q is not absolute", where, j, mount.MountPath))
			}
		}
		for j, port := range container.Ports {
			out = append(out, prefixed(fmt.Sprintf("%s.ports[%d].containerPort", where, j), validation.IsValidPortNum(int(port.ContainerPort)))...)
		}
	}
	return out
}

func labelProblems(at string, set map[string]string) []string {
	var out []string
	for key, value := range set {
		out = append(out, prefixed(at+" key "+key, validation.IsQualifiedName(key))...)
		out = append(out, prefixed(at+" value "+value, validation.IsValidLabelValue(value))...)
	}
	return out
}

func prefixed(at string, messages []string) []string {
	out := make([]string, len(messages))
	for i, message := range messages {
		out[i] = at + ": " + message
	}
	return out
}

// check decodes one document and returns its "kind/name" and its problems.
func check(doc []byte) (string, []string) {
	var typeMeta metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &typeMeta); err != nil {
		return "?", []string{err.Error()}
	}
	key := typeMeta.APIVersion + "/" + typeMeta.Kind
	newObject, known := kinds[key]
	if !known {
		return key, []string{fmt.Sprintf("apiVersion %q kind %q is not one this check knows", typeMeta.APIVersion, typeMeta.Kind)}
	}
	obj := newObject()
	// As the API server decodes: case-sensitive, every unknown or repeated field reported with its path.
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return key, []string{err.Error()}
	}
	strict, err := kjson.UnmarshalStrict(data, obj)
	if err != nil {
		return key, []string{err.Error()}
	}
	if len(strict) > 0 {
		var out []string
		for _, problem := range strict {
			out = append(out, problem.Error())
		}
		return key, out
	}
	meta := obj.meta()
	id := typeMeta.Kind + "/" + meta.Name
	problems := prefixed("metadata.name", validation.IsDNS1123Subdomain(meta.Name))
	if meta.Namespace != "" {
		problems = append(problems, prefixed("metadata.namespace", validation.IsDNS1123Label(meta.Namespace))...)
	}
	problems = append(problems, labelProblems("metadata.labels", meta.Labels)...)
	return id, append(problems, obj.problems()...)
}

func checkFile(name string, stdout, stderr io.Writer) (bool, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return false, err
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	ok, documents := true, 0
	for index := 1; ; index++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, fmt.Errorf("%s: document %d: %w", name, index, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		documents++
		id, problems := check(doc)
		for _, problem := range problems {
			fmt.Fprintf(stderr, "%s: document %d (%s): %s\n", name, index, id, problem)
		}
		if len(problems) > 0 {
			ok = false
		} else {
			fmt.Fprintf(stdout, "ok %s: %s\n", name, id)
		}
	}
	if documents == 0 {
		return false, fmt.Errorf("%s: no documents", name)
	}
	return ok, nil
}

// stripComments drops whole-line comments, so a document of comments only counts as empty.
func stripComments(doc []byte) []byte {
	var kept [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			kept = append(kept, line)
		}
	}
	return bytes.Join(kept, []byte("\n"))
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kube-manifest-check FILE...")
		os.Exit(2)
	}
	ok := true
	for _, name := range os.Args[1:] {
		fileOK, err := checkFile(name, os.Stdout, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		ok = ok && fileOK && err == nil
	}
	if !ok {
		os.Exit(1)
	}
}

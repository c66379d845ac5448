// crdcheck validates custom resources against the CustomResourceDefinitions that define
// them, as kube-apiserver does on create with fieldValidation=Strict: defaulting, unknown
// fields (pruning), the OpenAPI schema, embedded ObjectMeta, list-type invariants and the
// x-kubernetes-validations CEL rules. The sequence follows
// k8s.io/apiextensions-apiserver/pkg/registry/customresource/strategy.go (Validate) and
// pkg/apiserver/schema/pruning (what strict field validation reports).
//
// Usage:
//
//	crdcheck CRD_FILE... -- MANIFEST_FILE...
//
// checks every custom resource of the manifests (objects of built-in API groups and
// kustomize files are skipped); prints one line per problem ("file: apiVersion kind
// namespace/name: message") and exits 1 if there is any, 2 on a usage or read error.
//
//	crdcheck json FILE...
//
// prints each file's documents as kubectl reads them (sigs.k8s.io/yaml: YAML 1.1 scalars,
// integers as int64), one line per file: {"file": ..., "docs": [...]}. The oracle tests
// read meshc's output through this, so they see what its consumers see.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// version is one served version of one CRD, ready to validate with.
type version struct {
	crd        string
	structural *structuralschema.Structural
	validator  validation.SchemaValidator
	cel        *cel.Validator
}

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "json" {
		enc := json.NewEncoder(os.Stdout)
		for _, f := range args[1:] {
			docs, err := documents(f)
			if err != nil {
				fmt.Fprintf(os.Stderr, "crdcheck: %s: %v\n", f, err)
				os.Exit(2)
			}
			if docs == nil {
				docs = []map[string]interface{}{}
			}
			if err := enc.Encode(map[string]interface{}{"file": f, "docs": docs}); err != nil {
				fmt.Fprintf(os.Stderr, "crdcheck: %v\n", err)
				os.Exit(2)
			}
		}
		return
	}
	sep := -1
	for i, a := range args {
		if a == "--" {
			sep = i
		}
	}
	if sep < 1 || sep == len(args)-1 {
		fmt.Fprintln(os.Stderr, "usage: crdcheck CRD_FILE... -- RESOURCE_FILE...")
		os.Exit(2)
	}
	versions := map[string]*version{}
	for _, f := range args[:sep] {
		if err := loadCRDs(f, versions); err != nil {
			fmt.Fprintf(os.Stderr, "crdcheck: %s: %v\n", f, err)
			os.Exit(2)
		}
	}
	problems := 0
	checked := 0
	for _, f := range args[sep+1:] {
		docs, err := documents(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "crdcheck: %s: %v\n", f, err)
			os.Exit(2)
		}
		for _, obj := range docs {
			apiVersion, _ := obj["apiVersion"].(string)
			if !isCustom(apiVersion) {
				continue
			}
			checked++
			for _, p := range check(obj, versions) {
				problems++
				fmt.Printf("%s: %s %s %s: %s\n", f, obj["apiVersion"], obj["kind"], objName(obj), p)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "crdcheck: %d custom resources checked against %d CRD versions, %d problems\n", checked, len(versions), problems)
	if problems > 0 {
		os.Exit(1)
	}
}

// isCustom: is apiVersion served by a CRD rather than built into kube-apiserver (and not
// a kustomize file)? Built-in groups have no dot or end in .k8s.io; Gateway API and the
// x-k8s.io groups are CRDs.
func isCustom(apiVersion string) bool {
	i := strings.LastIndex(apiVersion, "/")
	if i < 0 {
		return false
	}
	group := apiVersion[:i]
	if !strings.Contains(group, ".") || group == "kustomize.config.k8s.io" {
		return false
	}
	return !strings.HasSuffix(group, ".k8s.io") || group == "gateway.networking.k8s.io" || strings.HasSuffix(group, ".x-k8s.io")
}

func objName(obj map[string]interface{}) string {
	md, _ := obj["metadata"].(map[string]interface{})
	ns, _ := md["namespace"].(string)
	name, _ := md["name"].(string)
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// documents reads every non-empty YAML document of a file.
func documents(path string) ([]map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []map[string]interface{}
	r := bufio.NewReader(bytes.NewReader(data))
	var cur bytes.Buffer
	flush := func() error {
		if strings.TrimSpace(cur.String()) == "" {
			cur.Reset()
			return nil
		}
		// As kube-apiserver decodes a body: integers become int64, which CEL rules
		// on integer fields need (apimachinery/pkg/util/json).
		js, err := yaml.YAMLToJSON(cur.Bytes())
		if err != nil {
			return err
		}
		var obj map[string]interface{}
		if err := utiljson.Unmarshal(js, &obj); err != nil {
			return err
		}
		cur.Reset()
		if obj != nil {
			out = append(out, obj)
		}
		return nil
	}
	for {
		line, err := r.ReadString('\n')
		if strings.TrimRight(line, "\r\n") == "---" {
			if e := flush(); e != nil {
				return nil, e
			}
		} else {
			cur.WriteString(line)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return out, flush()
}

func loadCRDs(path string, versions map[string]*version) error {
	docs, err := documents(path)
	if err != nil {
		return err
	}
	for _, doc := range docs {
		if doc["kind"] != "CustomResourceDefinition" {
			continue
		}
		raw, err := yaml.Marshal(doc)
		if err != nil {
			return err
		}
		var v1 apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(raw, &v1); err != nil {
			return fmt.Errorf("CRD %v: %w", doc["metadata"], err)
		}
		var crd apiextensions.CustomResourceDefinition
		if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&v1, &crd, nil); err != nil {
			return err
		}
		for _, ver := range crd.Spec.Versions {
			if !ver.Served {
				continue
			}
			props := crd.Spec.Validation
			if ver.Schema != nil {
				props = ver.Schema
			}
			if props == nil || props.OpenAPIV3Schema == nil {
				return fmt.Errorf("CRD %s version %s has no schema", crd.Name, ver.Name)
			}
			s, err := structuralschema.NewStructural(props.OpenAPIV3Schema)
			if err != nil {
				return fmt.Errorf("CRD %s version %s: %w", crd.Name, ver.Name, err)
			}
			sv, _, err := validation.NewSchemaValidator(props.OpenAPIV3Schema)
			if err != nil {
				return fmt.Errorf("CRD %s version %s: %w", crd.Name, ver.Name, err)
			}
			gvk := crd.Spec.Group + "/" + ver.Name + "/" + crd.Spec.Names.Kind
			if old, dup := versions[gvk]; dup {
				return fmt.Errorf("%s is defined by CRD %s and again by %s", gvk, old.crd, crd.Name)
			}
			versions[gvk] = &version{
				crd:        crd.Name,
				structural: s,
				validator:  sv,
				cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
			}
		}
	}
	return nil
}

func check(obj map[string]interface{}, versions map[string]*version) []string {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	v, ok := versions[apiVersion+"/"+kind]
	if !ok {
		return []string{"no CustomResourceDefinition loaded serves this apiVersion and kind"}
	}
	var out []string
	// Strict field validation reports what pruning would drop.
	pruned := pruning.PruneWithOptions(obj, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	sort.Strings(pruned)
	for _, p := range pruned {
		out = append(out, fmt.Sprintf("unknown field %q", p))
	}
	structuraldefaulting.Default(obj, v.structural)
	var errs field.ErrorList
	errs = append(errs, validation.ValidateCustomResource(nil, obj, v.validator)...)
	errs = append(errs, schemaobjectmeta.Validate(nil, obj, v.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, v.structural, obj)...)
	if len(errs) == 0 && v.cel != nil {
		celErrs, _ := v.cel.Validate(context.Background(), nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

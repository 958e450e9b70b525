// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause

// go-offsets: print the byte offsets of the runtime fields cwatch reads
// (runtime.g, runtime.m, runtime.gobuf, runtime.stack) from an unstripped Go
// binary's DWARF, and the Go version that built it. scripts/go-offsets.sh
// runs it on one binary per Go version to write user/goruntime_offsets.h.
//
//	go-offsets BINARY            one "name offset" line per field
//	go-offsets -c BINARY         the same as one C initializer for the table
//	go-offsets -struct           the C declaration of struct go_offsets
//
// A field the runtime does not have prints -1.
package main

import (
	"debug/buildinfo"
	"debug/dwarf"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"strings"
)

// A field is one table column: a C name and a path through the structs.
// The C struct is printed from this list too (-struct).
type field struct {
	c    string   // column in struct go_offsets
	path []string // struct, then member names: offsets add up
}

var fields = []field{
	{"g_goid", []string{"runtime.g", "goid"}},
	{"g_gopc", []string{"runtime.g", "gopc"}},
	{"g_startpc", []string{"runtime.g", "startpc"}},
	{"g_atomicstatus", []string{"runtime.g", "atomicstatus"}},
	{"g_m", []string{"runtime.g", "m"}},
	{"g_sched", []string{"runtime.g", "sched"}},
	{"g_stack", []string{"runtime.g", "stack"}},
	{"g_stack_lo", []string{"runtime.g", "stack", "lo"}},
	{"g_stack_hi", []string{"runtime.g", "stack", "hi"}},
	{"g_parent_goid", []string{"runtime.g", "parentGoid"}},
	{"m_g0", []string{"runtime.m", "g0"}},
	{"m_curg", []string{"runtime.m", "curg"}},
	{"m_procid", []string{"runtime.m", "procid"}},
	{"gobuf_sp", []string{"runtime.gobuf", "sp"}},
	{"gobuf_pc", []string{"runtime.gobuf", "pc"}},
	{"gobuf_bp", []string{"runtime.gobuf", "bp"}},
}

func fail(f string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "go-offsets: error: "+f+"\n", a...)
	os.Exit(1)
}

// structs returns the named struct types of d that the fields start from.
func structs(d *dwarf.Data) map[string]*dwarf.StructType {
	want := map[string]bool{}
	for _, f := range fields {
		want[f.path[0]] = true
	}
	found := map[string]*dwarf.StructType{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			fail("dwarf: %v", err)
		}
		if e == nil {
			return found
		}
		if e.Tag != dwarf.TagStructType {
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if !want[name] || found[name] != nil {
			continue
		}
		t, err := d.Type(e.Offset)
		if err != nil {
			fail("dwarf: %s: %v", name, err)
		}
		if st, ok := t.(*dwarf.StructType); ok && !st.Incomplete {
			found[name] = st
		}
	}
}

// offset follows names through st, adding member offsets; -1 when a member
// is missing.
func offset(st *dwarf.StructType, names []string) int64 {
	var off int64
	for i, n := range names {
		var m *dwarf.StructField
		for _, f := range st.Field {
			if f.Name == n {
				m = f
				break
			}
		}
		if m == nil {
			return -1
		}
		off += m.ByteOffset
		if i+1 < len(names) {
			t := m.Type
			for {
				td, ok := t.(*dwarf.TypedefType)
				if !ok {
					break
				}
				t = td.Type
			}
			if st, _ = t.(*dwarf.StructType); st == nil {
				return -1
			}
		}
	}
	return off
}

func main() {
	c := flag.Bool("c", false, "print one C initializer for go_offsets_table")
	decl := flag.Bool("struct", false, "print the C declaration of struct go_offsets")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go-offsets [-c] BINARY | go-offsets -struct\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *decl && flag.NArg() == 0 {
		printStruct()
		return
	}
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	path := flag.Arg(0)

	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		fail("%s: %v", path, err)
	}
	version := strings.Fields(bi.GoVersion)[0] // "go1.21.13", no " X:..." experiments
	minor := version
	if parts := strings.SplitN(version, ".", 3); len(parts) == 3 {
		minor = parts[0] + "." + parts[1]
	}

	f, err := elf.Open(path)
	if err != nil {
		fail("%s: %v", path, err)
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		fail("%s: no DWARF (stripped?): %v", path, err)
	}
	types := structs(d)
	for _, f := range fields {
		if types[f.path[0]] == nil {
			fail("%s: no struct %s in DWARF", path, f.path[0])
		}
	}

	if !*c {
		fmt.Printf("version %s\n", version)
		for _, f := range fields {
			fmt.Printf("%s %d\n", strings.Join(f.path, "."), offset(types[f.path[0]], f.path[1:]))
		}
		return
	}
	// Kernel style: a tab, then lines of at most 80 columns.
	fmt.Printf("\t{ %q,\n", minor)
	line := "\t  "
	for _, f := range fields {
		item := fmt.Sprintf(".%s = %d,", f.c, offset(types[f.path[0]], f.path[1:]))
		if len(line) > 3 && 8+len(line)-1+len(item) > 80 {
			fmt.Println(strings.TrimSuffix(line, " "))
			line = "\t  "
		}
		line += item + " "
	}
	fmt.Println(strings.TrimSuffix(line, " "))
	fmt.Println("\t},")
}

// printStruct prints the C struct that the -c initializers fill.
func printStruct() {
	fmt.Println("/* Byte offsets of runtime fields; -1: absent in that version. */")
	fmt.Println("struct go_offsets {")
	fmt.Println("\tconst char *version; /* Go minor version: \"go1.21\" */")
	for _, f := range fields {
		fmt.Printf("\tint %s; /* %s */\n", f.c, strings.Join(f.path, "."))
	}
	fmt.Println("};")
}

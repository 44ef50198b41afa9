# Section 3 pages from the public headers, one per function: its prototype and the comment above
# it (which lists its return codes), so a page says what the header says. A comment followed by
# several prototypes (no blank line between) documents each of them.
# Usage: awk -v outdir=DIR -v version=V -f man3.awk include/evring/*.h   (POSIX awk)
function roff(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	sub(/^[.']/, "\\\\&&", s)
	return s
}
function flush_proto(   name, p, f, n, lines, i, whatis, hdr) {
	p = proto
	gsub(/[ \t]+/, " ", p)
	if (!match(p, /evr_[a-z0-9_]+ *\(/)) return
	name = substr(p, RSTART, RLENGTH)
	sub(/ *\($/, "", name)
	hdr = FILENAME
	sub(/.*\//, "", hdr)
	f = outdir "/" name ".3"
	whatis = desc
	gsub(/\n/, " ", whatis)
	if (match(whatis, /\. /)) whatis = substr(whatis, 1, RSTART)   # the first sentence
	if (length(whatis) > 90) { whatis = substr(whatis, 1, 87); sub(/ [^ ]*$/, "", whatis); whatis = whatis "..." }
	if (whatis == "") whatis = "declared in <evring/" hdr ">"
	printf ".TH %s 3 \"\" \"evring %s\" \"evring manual\"\n", toupper(name), version > f
	printf ".SH NAME\n%s \\- %s\n", name, roff(whatis) > f
	printf ".SH SYNOPSIS\n.nf\n.B #include <evring/evring.h>\n.PP\n%s\n.fi\n", roff(p) > f
	printf ".SH DESCRIPTION\n" > f
	if (desc == "") {
		printf "The header <evring/%s> gives this call no comment of its own; see its neighbours there.\n", hdr > f
	} else {
		n = split(desc, lines, "\n")
		for (i = 1; i <= n; i++) printf "%s\n", roff(lines[i]) > f
	}
	printf ".SH SEE ALSO\n\\fBevring\\fR(7), <evring/%s>\n", hdr > f
	close(f)
	count++
}
FNR == 1 { incomment = 0; inproto = 0; ingroup = 0; comment = ""; continued = 0 }
continued { continued = /\\$/; next }          # the body of a multi-line #define
/^#/ { continued = /\\$/; ingroup = 0; next }
incomment {
	line = $0
	done = sub(/\*\/.*$/, "", line)
	sub(/^ \* ?/, "", line); sub(/^ *\*$/, "", line)
	if (line != "") comment = comment (comment == "" ? "" : "\n") line
	if (done) { incomment = 0; fresh = 1 }
	next
}
/^\/\*/ {
	line = $0
	sub(/^\/\* ?/, "", line)
	comment = ""
	done = sub(/ *\*\/.*$/, "", line)
	if (line != "") comment = line
	if (done) fresh = 1; else incomment = 1
	ingroup = 0
	next
}
inproto {
	proto = proto " " $0
	if (/;/) { inproto = 0; flush_proto() }
	next
}
/^[a-z].*evr_[a-z0-9_]+\(/ && !/^(struct|enum|union|typedef|static|extern)[^(]*\{/ && !/^extern/ {
	if (fresh) { desc = comment; ingroup = 1 } else if (!ingroup) desc = ""
	fresh = 0
	proto = $0
	if (/;/) flush_proto(); else inproto = 1
	next
}
{ fresh = 0; ingroup = 0 }
END { printf "man3.awk: %d pages\n", count > "/dev/stderr" }

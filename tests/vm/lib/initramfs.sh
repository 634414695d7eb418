# shellcheck shell=bash
# Initramfs construction for tests/vm/run.sh (sourced; uses run.sh's globals and die()).
#
# The initramfs is two concatenated "newc" cpio archives (the kernel unpacks them in turn):
#   base: busybox, kernel modules, vexfs.ko, the tools, /init. Cached under
#         $OUT/cache/base-<hash>.cpio, keyed on the content of every input, so it is only
#         rebuilt when one of them changes (a new vexfs.ko, a kernel update ...).
#   run:  this run's script, its arguments, config, and --add directories. Built every run.
# Both are uncompressed: gzip would save little RAM and cost guest time under TCG.
# Archives are made with busybox's own cpio, so the harness needs no extra host package.

# Print "req|opt <path relative to /lib/modules/$KVER>" for MOD and its dependencies, in load
# order. Built-in modules print nothing. Fails if modprobe does not know MOD.
module_closure() {
	local kind=$1 mod=$2 out line
	out=$(modprobe ${MODROOT:+-d "$MODROOT"} -S "$KVER" --show-depends "$mod" 2>&1) ||
		die "module $mod not found for kernel $KVER (modprobe ${MODROOT:+-d $MODROOT} -S $KVER --show-depends $mod: $out)"
	while read -r line; do
		case $line in
		"insmod "*)
			line=${line#insmod }; line=${line%% *}
			printf '%s %s\n' "$kind" "${line#"$MODDIR"/}" ;;
		"builtin "*) ;;
		*) die "unexpected output of modprobe --show-depends $mod: $line" ;;
		esac
	done <<<"$out"
}

# The module list for /vexfs-vm/modules: what the guest loads at boot, in order, without
# duplicates (first occurrence wins, which keeps dependencies before their users).
boot_module_list() {
	local m deps
	{
		for m in virtio_pci virtio_blk; do module_closure req "$m"; done
		# jbd2 soft-depends on crc32c; crc32c-intel only loads if the virtual CPU has SSE4.2.
		if modprobe ${MODROOT:+-d "$MODROOT"} -S "$KVER" --show-depends crc32c_intel >/dev/null 2>&1; then
			module_closure opt crc32c_intel
		fi
		module_closure req crc32c_generic
		module_closure req jbd2
		module_closure req loop
		# Whatever vexfs.ko itself needs (e.g. jbd2, libcrc32c), so insmod /vexfs.ko resolves.
		if [[ -n $KO ]]; then
			deps=$(modinfo -F depends "$KO") || die "modinfo cannot read $KO"
			for m in ${deps//,/ }; do module_closure req "$m"; done
		fi
	} | awk '/crc32c-intel/ { $1 = "opt" } !seen[$2]++'
}

# Modules that are only put into the image, for scripts to `modprobe` themselves
# (ext4 for side-by-side comparisons, dm-log-writes/dm-flakey for crash-ordering tests),
# plus whatever VEXFS_VM_MODULES names.
extra_module_list() {
	local m
	for m in ext4 libcrc32c dm_log_writes dm_flakey ${VEXFS_VM_MODULES:-}; do
		module_closure opt "$m"
	done
}

# Hash of every input of the base archive; the cache key.
base_cache_key() {
	{
		echo "layout-v1 $KVER"
		sha256sum "$BUSYBOX" "$LIB"/guest/* "$LIB"/initramfs.sh
		[[ -z $KO ]] || sha256sum "$KO"
		local t
		for t in "${TOOLS[@]}"; do sha256sum "$t"; done
		printf '%s\n' "$1"   # module list
		# A reinstalled kernel package changes the modules' mtimes and sizes.
		awk 'NF {print $2}' <<<"$1" | (cd "$MODDIR" && xargs -r stat -c '%n %s %Y')
	} | sha256sum | cut -c1-16
}

# Build (or reuse) the base archive; prints its path. Call it as $(build_base) only.
build_base() {
	local boot_mods extra_mods all_mods key base stage f rel dst
	boot_mods=$(boot_module_list)
	extra_mods=$(extra_module_list)
	all_mods=$(printf '%s\n%s\n' "$boot_mods" "$extra_mods" | awk 'NF && !seen[$2]++')
	key=$(base_cache_key "$all_mods")
	base=$OUT/cache/base-$key.cpio
	if [[ -s $base ]]; then
		echo "$base"
		return
	fi

	mkdir -p "$OUT/cache"
	stage=$(mktemp -d "$OUT/cache/stage.XXXXXX")
	# build_base runs in $(...), a subshell of its own: its EXIT trap removes the staging
	# directory on success, on die() and on Ctrl-C alike.
	# shellcheck disable=SC2064  # expand now: the trap must remove this very directory
	trap "rm -rf '$stage' '$base.tmp.$BASHPID'" EXIT

	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,mnt,root,run,etc,extra,vexfs-vm}
	mkdir -p "$stage/lib/modules/$KVER"
	# The kernel opens /dev/console for init's stdio before /init can mount devtmpfs.
	mknod -m 600 "$stage/dev/console" c 5 1 ||
		die "mknod $stage/dev/console failed (run.sh must run as root to build the initramfs)"
	mknod -m 666 "$stage/dev/null" c 1 3 || die "mknod $stage/dev/null failed"

	install -m 755 "$BUSYBOX" "$stage/bin/busybox"
	while read -r rel; do
		[[ $rel == bin/busybox ]] && continue
		ln -sf /bin/busybox "$stage/$rel"
	done < <("$BUSYBOX" --list-full)

	install -m 755 "$LIB/guest/init" "$stage/init"
	install -m 755 "$LIB/guest/vm-powercut" "$stage/usr/bin/vm-powercut"
	mkdir -p "$stage/usr/lib"
	install -m 644 "$LIB/guest/checks.sh" "$stage/usr/lib/vexfs-checks.sh"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
		> "$stage/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' > "$stage/etc/group"

	# Modules keep their /lib/modules layout so busybox modprobe works in the guest.
	# Debian 6.1 ships them uncompressed; decompress here should a kernel ship .ko.xz/.zst,
	# since busybox insmod cannot read those.
	local list=""
	while read -r _ rel; do
		[[ -n $rel ]] || continue
		f=$MODDIR/$rel
		dst=$stage/lib/modules/$KVER/$rel
		mkdir -p "$(dirname "$dst")"
		case $rel in
		*.ko) cp "$f" "$dst" ;;
		*.ko.xz) dst=${dst%.xz}; xz -dc "$f" > "$dst" || die "cannot decompress $f (xz-utils missing?)" ;;
		*.ko.zst) dst=${dst%.zst}; zstd -qdc "$f" > "$dst" || die "cannot decompress $f (zstd missing?)" ;;
		*.ko.gz) dst=${dst%.gz}; gzip -dc "$f" > "$dst" || die "cannot decompress $f" ;;
		*) die "unexpected module file name $f" ;;
		esac
	done <<<"$all_mods"
	# Boot list with guest paths (decompressed names).
	while read -r kind rel; do
		[[ -n $rel ]] || continue
		rel=${rel%.xz}; rel=${rel%.zst}; rel=${rel%.gz}
		list+="$kind /lib/modules/$KVER/$rel"$'\n'
	done <<<"$boot_mods"
	printf '%s' "$list" > "$stage/vexfs-vm/modules"
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[[ ! -e $MODDIR/$f ]] || cp "$MODDIR/$f" "$stage/lib/modules/$KVER/"
	done
	depmod -b "$stage" "$KVER" || die "depmod -b $stage $KVER failed"

	if [[ -n $KO ]]; then
		install -m 644 "$KO" "$stage/vexfs.ko"
	fi
	for f in "${TOOLS[@]}"; do
		install -m 755 "$f" "$stage/usr/bin/$(basename "$f")"
	done

	# Write under a temporary name and rename: concurrent runs may build the same key.
	make_cpio "$stage" "$base.tmp.$BASHPID"
	mv -f "$base.tmp.$BASHPID" "$base"
	# Keep the cache small: a few recent bases (each new vexfs.ko makes a new one).
	ls -1t "$OUT"/cache/base-*.cpio | tail -n +6 | xargs -r rm -f
	echo "$base"
}

# make_cpio DIR FILE: newc archive of DIR's contents, owned by root, reproducible inode numbers.
make_cpio() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		"$BUSYBOX" cpio -o -H newc -R 0:0 --ignore-devno --renumber-inodes) > "$2" 2>"$2.err" ||
		die "creating the cpio archive $2 from $1 failed: $(cat "$2.err")"
	rm -f "$2.err"
}

# Shell-quote one word for busybox sh (single quotes; ' becomes '\'').
shquote() {
	local s=${1//\'/\'\\\'\'}
	printf "'%s'" "$s"
}

# build_run STAGE_DIR FILE: the per-run archive.
build_run() {
	local stage=$1 out=$2 d a
	mkdir -p "$stage/vexfs-vm" "$stage/extra"
	cp "$SCRIPT" "$stage/vexfs-vm/script"
	{
		echo "NONCE=$NONCE"
		echo "NDISKS=${#DISKS[@]}"
		echo "LOAD_VEXFS=$LOAD_VEXFS"
		echo "SCRIPT_NAME=$(shquote "$(basename "$SCRIPT")")"
	} > "$stage/vexfs-vm/config"
	{
		printf 'set --'
		for a in "${SCRIPT_ARGS[@]}"; do printf ' %s' "$(shquote "$a")"; done
		printf '\n'
	} > "$stage/vexfs-vm/args.sh"
	for d in "${ADD_DIRS[@]}"; do
		cp -a "$d/." "$stage/extra/" || die "copying --add $d into the initramfs failed"
	done
	make_cpio "$stage" "$out"
}

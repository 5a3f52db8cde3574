#!/bin/sh
# End to end for `ohem import voc|coco` on the fixtures in tests/fixtures: the
# labels, lists, names and .data against a second computation in Python (xml.etree,
# json), a short training and `detector map` on each result (difficult and crowd
# boxes not counted as positives), and bad input rejected with a message naming the
# file and the object.
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/e2e_import
. tests/lib.sh
FIX=tests/fixtures
VOC=$FIX/voc/VOCdevkit
COCO=$FIX/coco

# The oracle: the expected label files of an import, from the annotations.
# VOC: 1-based inclusive pixels, so [xmin - 1, xmax] clipped to [0, W]; COCO:
# [x, x + w] clipped; classes sorted by name (VOC) or by category id (COCO);
# difficult / crowd boxes go to labels_difficult, empty boxes are dropped.
cat >"$D/oracle.py" <<'EOF'
import json, os, sys, xml.etree.ElementTree as ET

def clip(x0, y0, x1, y1, w, h):
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return None
    return ((x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h)

def voc(entries):
    """entries: (xml path, sub); returns names and {sub/stem: (labels, difficult)}"""
    objs, out = [], {}
    for path, sub in entries:
        root = ET.parse(path).getroot()
        w, h = int(root.find("size/width").text), int(root.find("size/height").text)
        stem = os.path.splitext(root.find("filename").text)[0]
        rows = []
        for o in root.findall("object"):
            b = o.find("bndbox")
            box = clip(float(b.find("xmin").text) - 1, float(b.find("ymin").text) - 1,
                       float(b.find("xmax").text), float(b.find("ymax").text), w, h)
            rows.append((o.find("name").text, int(o.find("difficult").text), box))
        objs.append((sub + "/" + stem, rows))
    names = sorted({n for _, rows in objs for n, _, _ in rows})
    for key, rows in objs:
        out[key] = ([(names.index(n),) + b for n, d, b in rows if b and not d],
                    [(names.index(n),) + b for n, d, b in rows if b and d])
    return names, out

def coco(files):
    out, names = {}, None
    for path, sub in files:
        j = json.load(open(path))
        cats = sorted(j["categories"], key=lambda c: c["id"])
        names = [c["name"] for c in cats]
        cls = {c["id"]: k for k, c in enumerate(cats)}
        imgs = {i["id"]: i for i in j["images"]}
        for i in j["images"]:
            out[sub + "/" + os.path.splitext(i["file_name"])[0]] = ([], [])
        for a in j["annotations"]:
            i = imgs[a["image_id"]]
            x, y, w, h = a["bbox"]
            box = clip(x, y, x + w, y + h, i["width"], i["height"])
            if box:
                out[sub + "/" + os.path.splitext(i["file_name"])[0]][a.get("iscrowd", 0)].append((cls[a["category_id"]],) + box)
    return names, out

def read(path):
    return [tuple([int(r[0])] + [float(v) for v in r[1:]]) for r in (l.split() for l in open(path)) if r]

def same(got, want):
    return len(got) == len(want) and all(g[0] == w[0] and all(abs(a - b) < 2e-6 for a, b in zip(g[1:], w[1:]))
                                         for g, w in zip(got, want))

kind, out = sys.argv[1], sys.argv[2]
if kind == "voc":
    names, want = voc([(a.split("=")[0], a.split("=")[1]) for a in sys.argv[3:]])
else:
    names, want = coco([(a.split("=")[0], a.split("=")[1]) for a in sys.argv[3:]])
bad = 0
got_names = open(os.path.join(out, kind + ".names")).read().split("\n")[:-1]
if got_names != names:
    print("names: got %s, want %s" % (got_names, names)); bad += 1
for key, (lab, dif) in sorted(want.items()):
    for tree, rows in (("labels", lab), ("labels_difficult", dif)):
        got = read(os.path.join(out, tree, key + ".txt"))
        if not same(got, rows):
            print("%s/%s: got %s, want %s" % (tree, key, got, rows)); bad += 1
count = sum(1 for _ in os.walk(os.path.join(out, "labels")) for f in _[2])
if count != len(want):
    print("%d label files, want %d" % (count, len(want))); bad += 1
# positives per class of the valid list: what detector map must count
data = dict(l.strip().split("=", 1) for l in open(os.path.join(out, kind + ".data")))
valid = [l.strip() for l in open(data["valid"])]
pos = [0] * len(names)
for v in valid:
    key = v.split("/images/")[1].rsplit(".", 1)[0]
    for r in want[key][0]:
        pos[r[0]] += 1
open(os.path.join(out, "positives"), "w").write("".join("%s %d\n" % (n, p) for n, p in zip(names, pos)))
sys.exit(1 if bad else 0)
EOF

# ---- VOC: a devkit, two years -----------------------------------------------------
expect_status 0 ./darknet ohem import voc "$VOC" "$D/voc" -train 2007/trainval,2012/trainval -valid 2007/test
OUT=$(cd "$D/voc" && pwd)
[ "$(tail -n 1 "$D/out")" = "$OUT/voc.data" ] || fail "voc: the .data path is not printed last"
expect_text "boxes clipped to the image: 1"
expect_text "000002.xml: object 2 (person): the box [19, 70] x [29, 64]"
grep -q '^person  *2  *1  *0  *0$' "$D/out" || { cat "$D/out"; fail "voc: the summary's person row"; }
A=$VOC/VOC2007/Annotations
python3 "$D/oracle.py" voc "$D/voc" "$A/000001.xml=VOC2007" "$A/000002.xml=VOC2007" "$A/000003.xml=VOC2007" \
    "$A/000004.xml=VOC2007" "$VOC/VOC2012/Annotations/2008_000001.xml=VOC2012" || fail "voc: labels differ from the oracle"
# a box over the whole image is (0.5, 0.5, 1, 1) (the inclusive 1-based convention)
[ "$(cat "$D/voc/labels/VOC2007/000001.txt")" = "1 0.500000 0.500000 1.000000 1.000000" ] || fail "voc: the full-image box"
printf 'classes=3\ntrain=%s/train.txt\nvalid=%s/valid.txt\nnames=%s/voc.names\nbackup=%s/backup/\ndifficult=%s/difficult.txt\n' \
    "$OUT" "$OUT" "$OUT" "$OUT" "$OUT" | cmp -s - "$D/voc/voc.data" || fail "voc: the .data file"
printf '%s\n' "$OUT/images/VOC2007/000001.jpg" "$OUT/images/VOC2007/000002.jpg" "$OUT/images/VOC2012/2008_000001.jpg" |
    cmp -s - "$D/voc/train.txt" || fail "voc: train.txt"
printf '%s\n' "$OUT/images_difficult/VOC2007/000003.jpg" "$OUT/images_difficult/VOC2007/000004.jpg" |
    cmp -s - "$D/voc/difficult.txt" || fail "voc: difficult.txt"
[ -L "$D/voc/images/VOC2007/000001.jpg" ] && cmp -s "$D/voc/images/VOC2007/000001.jpg" "$VOC/VOC2007/JPEGImages/000001.jpg" ||
    fail "voc: the image is not linked"
# the defaults are the same sets; -copy copies; a second import over the first works
expect_status 0 ./darknet ohem import voc "$VOC" "$D/voc2" -copy -quiet
[ -f "$D/voc2/images/VOC2007/000003.jpg" ] && [ ! -L "$D/voc2/images/VOC2007/000003.jpg" ] || fail "voc: -copy did not copy"
for f in labels/VOC2012/2008_000001.txt labels_difficult/VOC2007/000003.txt; do
    cmp -s "$D/voc/$f" "$D/voc2/$f" || fail "voc: the default sets give another $f"
done
sed 's#/voc2/#/voc/#' "$D/voc2/train.txt" | cmp -s - "$D/voc/train.txt" || fail "voc: the default sets give another train.txt"
expect_status 0 ./darknet ohem import voc "$VOC" "$D/voc" -quiet

# a plain folder of XML and images (a PNG among them), validated on the same images
expect_status 0 ./darknet ohem import voc "$FIX/voc/plain" "$D/plain"
expect_text "valid.txt lists the training images"
python3 "$D/oracle.py" voc "$D/plain" "$FIX/voc/plain/p1.xml=train" "$FIX/voc/plain/p2.xml=train" ||
    fail "plain: labels differ from the oracle"
grep -q '^valid=.*/train.txt$' "$D/plain/voc.data" || fail "plain: valid= is not the training list"

# ---- COCO -------------------------------------------------------------------------
expect_status 0 ./darknet ohem import coco "$D/coco" -train "$COCO/instances_train.json" "$COCO/train2017" \
    -valid "$COCO/instances_val.json" "$COCO/val2017"
expect_text "boxes skipped (empty inside the image): 1"
expect_text "instances_train.json: annotation 103: the box [5, 5] x [5, 15]"
expect_text "images: 3 train (1 without boxes), 2 valid (0 without boxes)"
python3 "$D/oracle.py" coco "$D/coco" "$COCO/instances_train.json=train" "$COCO/instances_val.json=valid" ||
    fail "coco: labels differ from the oracle"
[ "$(cat "$D/coco/coco.names" | tr '\n' ' ')" = "person car dog " ] || fail "coco: classes not in category id order"
[ -f "$D/coco/labels/train/c3.txt" ] && [ ! -s "$D/coco/labels/train/c3.txt" ] || fail "coco: the negative image has no empty label file"

# ---- train a little and evaluate on both --------------------------------------------
sed -e 's/^batch=.*/batch=2/' -e 's/^width=.*/width=64/' -e 's/^height=.*/height=64/' \
    -e 's/^max_batches=.*/max_batches=2/' -e 's/^burn_in=.*/burn_in=0/' cfg/fashion.cfg >"$D/tiny.cfg"
for s in voc coco; do
    expect_status 0 ./darknet detector train "$D/$s/$s.data" "$D/tiny.cfg" -seed 1 -quiet
    expect_text "done: 2 iterations"
    W=$D/$s/backup/tiny_final.weights
    [ -s "$W" ] || fail "$s: no final weights"
    expect_status 0 ./darknet detector map "$D/$s/$s.data" "$D/tiny.cfg" "$W" -thresh 0.001
    expect_text "mAP@0.50 = "
    # the truths column counts the positives: difficult and crowd boxes are left out
    while read -r name n; do
        grep -q "^$name  *$n " "$D/out" || { cat "$D/out"; fail "$s: map counts another number of $name truths than $n"; }
    done <"$D/$s/positives"
done
# without the difficult= key the ignored boxes are not read: the VOC cat count changes
grep -v '^difficult=' "$D/voc/voc.data" >"$D/nodiff.data"
expect_status 0 ./darknet detector map "$D/nodiff.data" "$D/tiny.cfg" "$D/voc/backup/tiny_final.weights"
grep -q '^cat  *0 ' "$D/out" || fail "nodiff: cat should have no truth"
# a difficult list of another length than valid's is an error
head -n 1 "$D/voc/difficult.txt" >"$D/short.txt"
sed "s#^difficult=.*#difficult=$D/short.txt#" "$D/voc/voc.data" >"$D/short.data"
expect_status 1 ./darknet detector map "$D/short.data" "$D/tiny.cfg" "$D/voc/backup/tiny_final.weights"
expect_text "short.txt: 1 entries, but valid= lists 2 images"

# ---- bad input ------------------------------------------------------------------------
# a devkit copy to break, one file at a time
bad_voc() { # name: a fresh copy of the fixture devkit in $D/bad/name
    rm -rf "$D/bad/$1"
    mkdir -p "$D/bad/$1"
    cp -r "$VOC/VOC2007" "$D/bad/$1/"
    B=$D/bad/$1/VOC2007
}
bad_voc malformed
printf '<annotation>\n<object><name>dog</name>\n</annotation>\n' >"$B/Annotations/000002.xml"
expect_status 1 ./darknet ohem import voc "$D/bad/malformed" "$D/x" -train 2007/trainval -valid 2007/test
expect_text "000002.xml:3: malformed XML: "
bad_voc nobox
sed -i 's#<xmin>5</xmin>#<xmin>five</xmin>#' "$B/Annotations/000002.xml"
expect_status 1 ./darknet ohem import voc "$D/bad/nobox" "$D/x" -train 2007/trainval -valid 2007/test
expect_text "000002.xml: object 1 (cat): <xmin>five</xmin> is not a number"
bad_voc inverted
sed -i 's#<xmax>40</xmax>#<xmax>4</xmax>#' "$B/Annotations/000002.xml"
expect_status 1 ./darknet ohem import voc "$D/bad/inverted" "$D/x" -train 2007/trainval -valid 2007/test
expect_text "000002.xml: object 1 (cat): xmin 5 > xmax 4"
bad_voc noimage
rm "$B/JPEGImages/000003.jpg"
expect_status 1 ./darknet ohem import voc "$D/bad/noimage" "$D/x" -train 2007/trainval -valid 2007/test
expect_text "000003.xml: the image $D/bad/noimage/VOC2007/JPEGImages/000003.jpg is missing"
bad_voc noxml
echo 000009 >>"$B/ImageSets/Main/test.txt"
expect_status 1 ./darknet ohem import voc "$D/bad/noxml" "$D/x" -train 2007/trainval -valid 2007/test
expect_text "test.txt:3: the annotation $D/bad/noxml/VOC2007/Annotations/000009.xml is missing"
printf 'cat\ndog\n' >"$D/two.names"
expect_status 1 ./darknet ohem import voc "$VOC" "$D/x" -train 2007/trainval -valid 2007/test -names "$D/two.names"
expect_text "000001.xml: object 2 (person): the class 'person' is not in the -names file"
expect_status 1 ./darknet ohem import voc "$VOC" "$D/x" -train 2007
expect_text "-train 2007: expected YEAR/SET"
expect_status 1 ./darknet ohem import voc "$VOC" "$D/x" -train 2010/trainval
expect_text "VOC2010 is not a directory"
# an output directory whose path sends Darknet's label lookup elsewhere
expect_status 1 ./darknet ohem import voc "$VOC" "$D/raw" -quiet
expect_text "Darknet would look for the labels of this image in"
[ -e "$D/raw" ] && fail "the refused import created $D/raw"
expect_status 2 ./darknet ohem import voc "$VOC"
expect_text "OUTDIR is missing"
expect_status 2 ./darknet ohem import tsv x
expect_text "unknown format 'tsv'"

mkdir -p "$D/bad/coco"
J=$D/bad/coco
printf '{"images": [}\n' >"$J/broken.json"
expect_status 1 ./darknet ohem import coco "$D/x" -train "$J/broken.json" "$COCO/train2017"
expect_text "broken.json:1:13: malformed JSON: "
expect_status 1 ./darknet ohem import coco "$D/x" -train "$J/none.json" "$COCO/train2017"
expect_text "none.json: cannot read: No such file or directory"
python3 - "$COCO/instances_train.json" "$J" <<'EOF'
import json, sys
src, out = sys.argv[1], sys.argv[2]
def bad(name, change):
    j = json.load(open(src)); change(j); json.dump(j, open("%s/%s.json" % (out, name), "w"))
bad("unknown_cat", lambda j: j["annotations"][1].update(category_id=99))
bad("unknown_image", lambda j: j["annotations"][2].update(image_id=77))
bad("bbox", lambda j: j["annotations"][0].update(bbox=[1, 2, 3]))
bad("missing_image", lambda j: j["images"][1].update(file_name="gone.jpg"))
bad("crowd", lambda j: j["annotations"][0].update(iscrowd=2))
bad("other_cats", lambda j: j["categories"].pop())
EOF
expect_status 1 ./darknet ohem import coco "$D/x" -train "$J/unknown_cat.json" "$COCO/train2017"
expect_text "unknown_cat.json: annotation 101: category_id 99 is not among the categories"
expect_status 1 ./darknet ohem import coco "$D/x" -train "$J/unknown_image.json" "$COCO/train2017"
expect_text "unknown_image.json: annotation 102: image_id 77 is not among the images"
expect_status 1 ./darknet ohem import coco "$D/x" -train "$J/bbox.json" "$COCO/train2017"
expect_text "bbox.json: annotation 100: 'bbox' is not 4 numbers"
expect_status 1 ./darknet ohem import coco "$D/x" -train "$J/missing_image.json" "$COCO/train2017"
expect_text "missing_image.json: image 11: the image $COCO/train2017/gone.jpg is missing"
expect_status 1 ./darknet ohem import coco "$D/x" -train "$J/crowd.json" "$COCO/train2017"
expect_text "crowd.json: annotation 100: iscrowd 2: expected 0 or 1"
expect_status 1 ./darknet ohem import coco "$D/x" -train "$COCO/instances_train.json" "$COCO/train2017" \
    -valid "$J/other_cats.json" "$COCO/train2017"
expect_text "other_cats.json: its categories differ from the training file's"
expect_status 2 ./darknet ohem import coco "$D/x" -train "$COCO/instances_train.json"
expect_text "-train needs two values"
[ -e "$D/x" ] && fail "a failed import wrote $D/x"
echo "e2e_import: ok"

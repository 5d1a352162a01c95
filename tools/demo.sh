#!/usr/bin/env bash
# The quickstart: toy data -> train -> COCO evaluation -> images with predicted boxes.
# Idempotent: data, training and the environment are skipped when already done; a killed
# training run resumes from its last checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
PY=.venv/bin/python
CONFIG=configs/quickstart/centernet_r18w16_1xb8-70e_toy.py
WORK=work_dirs/quickstart
EPOCHS=$($PY -c "from mmcenternet.engine.config import load_config
print(load_config('$CONFIG', check=False).train_cfg.max_epochs)")
CKPT=$WORK/epoch_$EPOCHS.pth

$PY tools/misc/gen_toy_dataset.py --out data/toy
if [ -f "$CKPT" ]; then
  echo "[demo] $CKPT exists: training skipped"
else
  resume=()
  [ -f "$WORK/last_checkpoint" ] && resume=(--resume)
  $PY tools/train.py "$CONFIG" --work-dir "$WORK" "${resume[@]}"
fi
$PY tools/test.py "$CONFIG" "$CKPT" --eval bbox --work-dir "$WORK/test"
$PY demo/image_demo.py data/toy/val "$CONFIG" "$CKPT" --out-dir outputs/demo --max-images 8
$PY demo/image_demo.py data/toy/val "$CONFIG" "$CKPT" --out-dir outputs/demo/heatmap \
  --max-images 8 --show-heatmap
$PY tools/analysis_tools/analyze_logs.py plot_curve "$WORK" --keys coco/bbox_mAP_50 \
  coco/bbox_mAP --title "$(basename "$CONFIG" .py)" --out outputs/demo/ap_per_epoch.png
echo "[demo] images with predicted boxes: outputs/demo/ (with the predicted heatmap:"
echo "       outputs/demo/heatmap/); AP per epoch: outputs/demo/ap_per_epoch.png"

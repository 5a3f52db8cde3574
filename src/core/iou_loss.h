/* iou_loss.h: the box overlap measures of AlexeyAB's Darknet [yolo] (IoU, GIoU,
 * DIoU, CIoU) and the box delta of its iou_loss=, as plain functions over boxes.
 * A box is (x, y, w, h): centre and size, in any one unit (the image's fraction in
 * [yolo]). */
#ifndef OHEM_IOU_LOSS_H
#define OHEM_IOU_LOSS_H

typedef struct {
    float x, y, w, h;
} iou_box;

typedef enum { IOU_MSE, IOU_IOU, IOU_GIOU, IOU_DIOU, IOU_CIOU } iou_kind;

/* The kind named by word ("mse", "iou", "giou", "diou", "ciou"), or -1. */
int iou_kind_parse(const char *word);
const char *iou_kind_name(iou_kind k);

/* The score the loss 1 - score is built on, for a and b:
 *   IOU_IOU (and IOU_MSE): intersection / union;
 *   IOU_GIOU: IoU - (C - U) / C, C the area of the smallest box holding both;
 *   IOU_DIOU: IoU - d^2 / c^2, d the distance of the centres, c the diagonal of C;
 *   IOU_CIOU: DIoU - alpha v, v = 4/pi^2 (atan(b.w/b.h) - atan(a.w/a.h))^2 and
 *             alpha = v / (1 - IoU + v + 1e-6) (b is the truth).
 * (AlexeyAB's box_diou prints (d^2/c^2)^0.6; its delta is that of d^2/c^2, used here.) */
double iou_score(iou_box a, iou_box b, iou_kind k);

/* The exact gradient of iou_score(pred, truth, k) with respect to pred's x, y, w, h,
 * into g[4]; for IOU_CIOU alpha is held constant, as the CIoU paper does. Where the
 * boxes do not overlap the IoU part's gradient is 0. */
void iou_score_grad(iou_box pred, iou_box truth, iou_kind k, double g[4]);

/* The box delta of AlexeyAB's dx_box_iou (his yolo_layer.c's delta before the
 * normaliser), into d[4] for x, y, w, h. It is iou_score_grad's gradient with AlexeyAB's
 * departures from it, kept so that his cfgs' iou_normalizer= keeps its meaning:
 *  - the IoU and GIoU parts of dw and dh are twice the gradient (he does not halve
 *    the derivative of the edges x -+ w/2);
 *  - DIoU and CIoU: in dx and dy the term of the derivative of c^2 has the opposite
 *    sign to the gradient's;
 *  - CIoU: the aspect term of dw, dh is the gradient's times (w^2 + h^2), the CIoU
 *    paper's simplification (it avoids 1 / (w^2 + h^2) for small boxes).
 * k is not IOU_MSE. */
void iou_delta_alexeyab(iou_box pred, iou_box truth, iou_kind k, float d[4]);

/* The parts of the gradient that iou_delta_alexeyab changes, exposed for the tests:
 * the IoU (+ GIoU) part, the d^2/c^2 part and the aspect part, each into g[4]. */
void iou_grad_parts(iou_box pred, iou_box truth, iou_kind k, double iou_part[4], double dist_part[4],
                    double aspect_part[4]);

/* AlexeyAB's DIoU-NMS overlap: IoU - (d^2 / c^2)^beta (d the distance of the
 * centres, c the diagonal of the smallest box holding both); IoU when c is 0. */
double iou_diou_nms(iou_box a, iou_box b, double beta);

#endif

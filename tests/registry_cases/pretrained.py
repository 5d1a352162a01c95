"""Build cases of the pretrained-initialisation task (issue 8, point 1)."""
CASES = {
    ('WEIGHT_INITIALIZERS', 'PretrainedMapped'): lambda tmp: dict(
        type='PretrainedMapped', checkpoint=str(tmp / 'resnet18.pth'),
        mapping='torchvision_resnet', module='backbone'),
}

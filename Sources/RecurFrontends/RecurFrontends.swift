// RecurFrontends: Audio, image and text frontends that turn files into feature frames and tokens (issue 3).

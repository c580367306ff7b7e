from django.contrib.auth.middleware import LoginRequiredMiddleware


class LoginRequiredExceptApiMiddleware(LoginRequiredMiddleware):
    """Django's login-required default for every page, except the REST API.

    API clients authenticate with tokens that only DRF understands, so a redirect to the
    login page would be wrong for them; DRF's IsAuthenticated answers 401/403 instead.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

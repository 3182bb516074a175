"""Spanish (US) prompts."""

MESSAGES = {
    "welcome": "Gracias por llamar a los pagos de facturas de {company}.",
    "language_offer": "For English, press 1.",
    "confirm_caller_account": (
        "¿Llama por la cuenta que termina en {last4}? Oprima 1 para sí, 2 para no."
    ),
    "enter_account": "Marque su número de cuenta, seguido de la tecla numeral.",
    "enter_account_again": "Marque de nuevo su número de cuenta, seguido de la tecla numeral.",
    "enter_pin": "Marque su PIN, seguido de la tecla numeral.",
    "enter_zip": "Ahora marque el código postal de 5 dígitos de la dirección de servicio.",
    "enter_ssn4": "Ahora marque los últimos 4 dígitos del número de Seguro Social de la cuenta.",
    "invalid_account_format": "Los números de cuenta tienen de {min} a {max} dígitos.",
    "invalid_pin_format": "Su PIN tiene de 4 a 8 dígitos.",
    "invalid_zip_format": "El código postal tiene 5 dígitos.",
    "invalid_ssn4_format": "Marque exactamente 4 dígitos.",
    "verify_failed": "Lo sentimos, no pudimos verificar esos datos.",
    "verified": "Gracias, su identidad está verificada.",
    "locked": (
        "Por su seguridad, el acceso telefónico a esta cuenta está bloqueado durante los próximos "
        "{minutes} minutos. Puede llamar después. Para hablar con un representante ahora, oprima 0."
    ),
    "main_menu": (
        "Para su saldo y fecha de vencimiento, oprima 1. Para hacer un pago, oprima 2. "
        "Para más tiempo para pagar, oprima 3. Para escuchar su último pago, oprima 4. "
        "Para hablar con un representante, oprima 0. Para repetir estas opciones, oprima asterisco."
    ),
    "balance": "Su saldo es de {amount}, con vencimiento el {date}.",
    "balance_no_date": "Su saldo es de {amount}.",
    "minimum_due": "El pago mínimo es de {amount}.",
    "no_balance": "Su cuenta no tiene saldo pendiente.",
    "option_unavailable": "Lo sentimos, esa opción todavía no está disponible por teléfono.",
    "last_payment": (
        "Su último pago fue de {amount} el {date}. Su número de confirmación es {number}."
    ),
    "no_payments": "No tenemos pagos registrados para esta cuenta.",
    "transferring": "Espere mientras le comunico con un representante.",
    "agent_whisper_verified": "Verified caller, Spanish. Account ending in {last4}.",
    "agent_whisper_unverified": "Caller not verified, Spanish.",
    "no_input": "Lo sentimos, no escuchamos nada.",
    "invalid_choice": "Lo sentimos, esa no es una de las opciones.",
    "goodbye": "Gracias por llamar. Adiós.",
    "goodbye_no_input": "No recibimos su respuesta. Llame de nuevo cuando esté listo. Adiós.",
    "goodbye_too_many_attempts": (
        "Lo sentimos, tenemos problemas con sus respuestas. Llame de nuevo o pida ayuda a un "
        "representante. Adiós."
    ),
    "session_expired": "Lo sentimos, esta llamada ha expirado. Llame de nuevo. Adiós.",
    "system_error": (
        "Lo sentimos, tuvimos un problema y no se hizo ningún cargo. Llame de nuevo en unos minutos. "
        "Adiós."
    ),
}

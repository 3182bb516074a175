"""Spanish (US) prompts."""

MESSAGES = {
    "welcome": "Gracias por llamar a los pagos de facturas de {company}.",
    "language_offer": "Para español, oprima nueve.",
    "confirm_caller_account": (
        "¿Llama por la cuenta que termina en {last4}? Oprima 1 para sí, 2 para no."
    ),
    "enter_account": "Marque su número de cuenta, seguido de la tecla numeral.",
    "enter_account_again": "Marque de nuevo su número de cuenta, seguido de la tecla numeral.",
    "enter_pin": "Marque su PIN, seguido de la tecla numeral.",
    "invalid_account_format": "Los números de cuenta tienen de {min} a {max} dígitos.",
    "invalid_pin_format": "Su PIN tiene de 4 a 8 dígitos.",
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
    "pay_menu_full": "Su saldo es de {amount}. Para pagarlo completo, oprima 1.",
    "pay_menu_minimum": "Para pagar el mínimo de {amount}, oprima 2.",
    "pay_menu_other": "Para pagar otra cantidad, oprima 3. Para volver al menú principal, oprima asterisco.",
    "enter_amount": "Marque la cantidad en dólares, luego asterisco y los centavos, y luego la tecla numeral. Para 25 dólares con 50 centavos, marque 2 5 asterisco 5 0 numeral.",
    "amount_invalid": "Lo sentimos, no entendimos esa cantidad.",
    "amount_too_small": "El pago mínimo que podemos aceptar es de {amount}.",
    "amount_too_large": "El pago máximo que podemos aceptar por teléfono es de {amount}.",
    "amount_over_balance": "Eso es más de los {amount} que puede pagar ahora.",
    "fee_notice": "Se aplica un cargo por servicio de {fee}, para un total de {total}.",
    "capture_intro": "Ahora los datos de su tarjeta. Por su seguridad, esta parte de la llamada no se graba. Oprima asterisco en cualquier momento para empezar de nuevo.",
    "enter_card_number": "Marque el número de su tarjeta, seguido de la tecla numeral.",
    "enter_card_expiry": "Marque la fecha de vencimiento con 4 dígitos: 2 para el mes y 2 para el año.",
    "enter_card_code_back": "Marque el código de seguridad de 3 dígitos del reverso de su tarjeta.",
    "enter_card_code_front": "Marque el código de seguridad de 4 dígitos del frente de su tarjeta.",
    "enter_card_zip": "Marque el código postal de 5 dígitos de su dirección de facturación.",
    "card_number_invalid": "Ese número de tarjeta no es válido.",
    "card_brand_unsupported": "Lo sentimos, no aceptamos ese tipo de tarjeta.",
    "card_expiry_invalid": "Esa fecha de vencimiento no es válida.",
    "card_expired": "Esa tarjeta está vencida.",
    "card_code_invalid": "Ese código de seguridad no es válido.",
    "card_zip_invalid": "El código postal tiene 5 dígitos.",
    "capture_restart": "Muy bien, empecemos de nuevo.",
    "brand_visa": "Visa",
    "brand_mastercard": "Mastercard",
    "brand_amex": "American Express",
    "brand_discover": "Discover",
    "brand_diners": "Diners Club",
    "brand_jcb": "J C B",
    "pay_readback": "{brand} que termina en {last4}, {amount}. Para confirmar el pago, oprima 1. Para cancelar, oprima 2.",
    "pay_readback_with_fee": "{brand} que termina en {last4}, {amount} más un cargo de {fee}, {total} en total. Para confirmar el pago, oprima 1. Para cancelar, oprima 2.",
    "pay_cancelled": "Su pago fue cancelado. No se hizo ningún cargo.",
    "processing": "Un momento mientras procesamos su pago.",
    "payment_approved": "Gracias. Su pago de {amount} fue aprobado.",
    "confirmation_number": "Su número de confirmación es {number}.",
    "new_balance": "Su saldo ahora es de {amount}.",
    "receipt_options": "Para escuchar de nuevo el número de confirmación, oprima 1. Para recibirlo por mensaje de texto, oprima 2. Para el menú principal, oprima asterisco.",
    "receipt_texted": "Se lo enviamos por mensaje de texto al número que termina en {last4}.",
    "receipt_no_phone": "Lo sentimos, no tenemos un número móvil para enviarlo.",
    "declined_declined": "Lo sentimos, su tarjeta fue rechazada y no se hizo ningún cargo.",
    "declined_insufficient_funds": "Lo sentimos, la tarjeta fue rechazada por fondos insuficientes y no se hizo ningún cargo.",
    "declined_expired_card": "Lo sentimos, el banco indica que esta tarjeta está vencida. No se hizo ningún cargo.",
    "declined_processing_error": "Lo sentimos, tuvimos un problema al procesar esa tarjeta y no se hizo ningún cargo.",
    "declined_options": "Para intentar con otra tarjeta, oprima 1. Para el menú principal, oprima asterisco.",
    "payment_unknown": "No pudimos confirmar su pago con el banco en este momento. Por favor no pague de nuevo. Lo verificaremos dentro de una hora y le enviaremos su confirmación; también puede escuchar su último pago desde el menú principal.",
    "thanks_goodbye": "Gracias por su pago. Adiós.",
    "receipt_sms": "{company}: recibimos su pago de {amount} para la cuenta que termina en {last4}. Confirmación {number}. Saldo actual {balance}.",
    "receipt_email_subject": "Pago recibido, confirmación {number}",
    "receipt_email_body": "Gracias por su pago de {amount} para la cuenta que termina en {last4}, hecho {paid_with}.\nNúmero de confirmación: {number}\nCargo por servicio: {fee}\nSaldo después del pago: {balance}\n\n{company}",
    "paid_with_card": "con {brand} que termina en {card_last4}",
    "enter_card_code": "Marque el código de seguridad de su tarjeta.",
    "brand_card": "Tarjeta",
    "payment_in_progress": "Ya se está procesando un pago para esta cuenta, así que no se hizo otro cargo.",
    "enter_detail": "Ahora marque el código postal de 5 dígitos de la dirección de servicio, o los últimos 4 dígitos del número de Seguro Social de la cuenta seguidos de la tecla numeral.",
    "invalid_detail_format": "Marque 5 dígitos para el código postal, o 4 dígitos para el Seguro Social.",
}
